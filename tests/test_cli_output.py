"""What the CLI prints when its output is not a terminal (pipes, logs, CI): nothing is
hard-wrapped at 80 columns."""
from __future__ import annotations

import os
import subprocess
import sys

LONG_ERROR = "tmdb: unreachable at http://127.0.0.1:9/3/search/movie: connection refused " + "x" * 120
LONG_FILE = "/srv/" + "/".join(["a-rather-long-folder-name"] * 6) + "/plexrecs-true-crime-4cfab3-movies.yml"

SUMMARY = f"""
from plexrecs_assets.cli.run import print_summary
from plexrecs_assets.store.runs import CategorySummary
cats = [CategorySummary(label="True Crime", type="movie", published=0, dropped={{"unresolved": 3}}, files=[{LONG_FILE!r}], prompt_tokens=10,
          completion_tokens=5, model="gpt-4o-mini", status="failed", error={LONG_ERROR!r})]
from plexrecs_assets.runner import RunSummary
print_summary(RunSummary(job_ids=[7], status="failed", categories=cats, error={LONG_ERROR!r}))
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


def test_a_summary_without_categories_prints_the_reason_not_an_empty_table():
    result = run_python("""
from plexrecs_assets.cli.run import print_summary
from plexrecs_assets.runner import RunSummary
print_summary(RunSummary(job_ids=[3], status="failed", categories=[], error="watch_history: tautulli: auth HTTP 401"))
""")
    assert result.returncode == 0, result.stderr
    assert "no category ran. Reason: watch_history: tautulli: auth HTTP 401" in result.stdout
    assert "┃" not in result.stdout and "category" not in result.stdout.replace("no category ran", "")
    # The one-line error still reaches stderr, where scripts and `plexrecs run` users look for it.
    assert [l for l in result.stderr.splitlines() if l.startswith("error:")] == [
        "error: watch_history: tautulli: auth HTTP 401"]


def test_a_real_run_that_fails_before_any_category_says_why(tmp_path):
    import socket

    from plexrecs_assets.config import SECRET_ENV_VARS, URL_OVERRIDES
    from plexrecs_assets.demo import write_demo_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the socket is: every service is unreachable
    dead = f"http://127.0.0.1:{port}"
    write_demo_config(tmp_path / "config", tmp_path, {"TAUTULLI_URL": dead, "PLEX_URL": dead, "TMDB_API_BASE": dead + "/3",
                                                       "LLM_API_BASE": dead + "/v1", "OVERSEERR_URL": dead})
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES and k != "COLUMNS"}
    env.update({name: "k-123456" for name in ("TAUTULLI_API_KEY", "PLEX_TOKEN", "TMDB_API_KEY", "LLM_API_KEY",
                                              "OVERSEERR_API_KEY")}, DAGSTER_HOME=str(tmp_path / "dagster_home"))
    result = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(tmp_path / "config")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0
    assert "no category ran. Reason:" in result.stdout, result.stdout + result.stderr[-2000:]
    reason = result.stdout.split("Reason:", 1)[1]
    assert "unreachable" in reason or "tautulli" in reason.lower(), reason
