"""What the CLI prints when its output is not a terminal (pipes, logs, CI): nothing is
hard-wrapped at 80 columns."""
from __future__ import annotations

import os
import subprocess
import sys

LONG_ERROR = "tmdb: unreachable at http://127.0.0.1:9/3/search/movie: connection refused " + "x" * 120
LONG_FILE = "/srv/" + "/".join(["a-rather-long-folder-name"] * 6) + "/plexrecs-true-crime-4cfab3-movies.yml"

SUMMARY = f"""
from types import SimpleNamespace as N
from plexrecs_assets.cli.run import print_summary
cats = [N(label="True Crime", published=0, dropped={{"unresolved": 3}}, files=[{LONG_FILE!r}], prompt_tokens=10,
          completion_tokens=5, model="gpt-4o-mini", status="failed", error={LONG_ERROR!r})]
print_summary(N(job_ids=[7], status="failed", categories=cats, error={LONG_ERROR!r}))
"""


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_summary_is_not_wrapped_when_piped():
    result = run_python(SUMMARY)
    assert result.returncode == 0, result.stderr
    assert any(LONG_ERROR in line for line in result.stdout.splitlines()), result.stdout
    assert any(line.strip() == LONG_FILE for line in result.stdout.splitlines())
    assert LONG_ERROR in result.stderr.replace("error: ", "")
