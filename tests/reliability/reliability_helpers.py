"""Helpers of the reliability suite: the workspace a test runs in, fault recipes, output checks."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from plexrecs_emulators.faults import Faults
from plexrecs_emulators.suite import EmulatorSuite

# Two small categories keep each run short; both draw on large parts of the demo catalog.
CATEGORIES_YML = """\
categories:
  - label: "True Crime"
    type: "genre"
    media_types: ["movie", "tv"]
    tmdb_filters:
      include_genres: ["Documentary", "Crime"]
  - label: "Cozy"
    type: "keyword"
    media_types: ["movie", "tv"]
    mood_keywords: ["cozy", "gentle", "uplifting"]
    tmdb_filters:
      exclude_genres: ["Horror", "War"]
"""
LABELS = ["True Crime", "Cozy"]
# TMDb caches kept in the warm store (a run on the demo world fills them; they expire by age).
CACHE_TABLES = ("tmdb_details_cache", "title_resolution_cache", "tmdb_list_cache")
REPO_ROOT = Path(__file__).resolve().parents[2]
PLEXRECS = REPO_ROOT / ".venv" / "bin" / "plexrecs"


@dataclass
class Workspace:
    root: Path
    config_dir: Path
    data_dir: Path
    dagster_home: Path
    env: dict[str, str]  # secrets and DAGSTER_HOME, for subprocesses

    @property
    def db_path(self) -> Path:
        return self.data_dir / "plexrecs.sqlite"

    @property
    def json_dir(self) -> Path:
        return self.data_dir / "recommendations"

    @property
    def pmm_dir(self) -> Path:
        return self.data_dir / "kometa"

    def next_as_of(self) -> str:
        """Each run of a workspace happens 61 days after the one before (``--as-of``): every
        pick has aged out of its collection and the 60-day rule lets the catalog be reused, so
        every run builds its categories afresh (asks the LLM, requests from Overseerr) as the
        faults under test need, however many runs a module makes."""
        import datetime as _dt
        runs = getattr(self, "_runs_made", 0)
        self._runs_made = runs + 1
        return (_dt.date.today() + _dt.timedelta(days=61 * runs)).isoformat()

    def run(self, categories: list[str] | None = None):
        from plexrecs_assets.runner import run_once

        return run_once(self.config_dir, categories=categories, as_of=self.next_as_of())

    def outputs(self) -> dict[str, bytes]:
        """Every published file (JSON and Kometa YAML) by path relative to the data dir."""
        found = {}
        for base in (self.json_dir, self.pmm_dir):
            if base.is_dir():
                for path in sorted(base.rglob("*")):
                    if path.is_file():
                        found[str(path.relative_to(self.data_dir))] = path.read_bytes()
        return found

    def temp_files(self) -> list[Path]:
        return [p for p in self.data_dir.rglob("*") if p.name.endswith(".tmp")]

    def sql(self, query: str, *args) -> list[sqlite3.Row]:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(query, args).fetchall()
        finally:
            conn.close()

    def expire_tmdb_lists(self) -> None:
        """Forget cached TMDb list pages (discover, recommendations, search), as their 12 h
        expiry would: the next run has to ask TMDb again."""
        self.sql_write("delete from tmdb_list_cache")

    def sql_write(self, statement: str, *args) -> None:
        conn = sqlite3.connect(self.db_path)
        try:
            with conn:
                conn.execute(statement, args)
        finally:
            conn.close()

    def last_job(self) -> sqlite3.Row:
        return self.sql("select * from job_run order by id desc limit 1")[0]

    def category_rows(self, job_id: int) -> dict[str, sqlite3.Row]:
        return {r["label"]: r for r in self.sql("select * from category_run where job_id = ?", job_id)}

    def edit_app(self, **sections) -> None:
        """Merge ``sections`` (e.g. ``recommender={"timeout_s": 0.3}``) into app.yml."""
        path = self.config_dir / "app.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def plexrecs(self, *args: str, **popen) -> subprocess.Popen:
        """Start ``plexrecs <args>`` with only the workspace's environment (plus PATH/HOME)."""
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        if args and args[0] == "run" and "--as-of" not in args:
            args = (*args, "--as-of", self.next_as_of())
        return subprocess.Popen([str(PLEXRECS), *args], env=env, cwd=self.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **popen)



# Faults that never clear: the run must end cleanly naming the service. Retry-After is short
# so that exhausting the retry budget costs little time.
FAULTS = {
    "rate_limited": {"rate_429": 1.0, "retry_after_s": 0.05},
    "server_error": {"rate_500": 1.0},
    "malformed": {"malformed_rate": 1.0},
    "bad_credentials": {"bad_credentials": True},
}


def reset_emulators(suite: EmulatorSuite) -> None:
    defaults = Faults().to_dict()
    for server in suite.servers.values():
        server.set_faults(**defaults)
        server.clear_requests()
    suite.llm.set_options(structured_output="json_schema", invalid_json_rate=0.0, mistake_rate=0.0, fail_labels=[])


def chat_calls(suite: EmulatorSuite) -> list[dict]:
    return [r for r in suite.llm.requests() if r["path"].rstrip("/").endswith("/chat/completions")]


def assert_untouched_except(before: dict[str, bytes], after: dict[str, bytes], *, replaced: set[str]) -> None:
    """Every file published before is still there, byte for byte, unless it is in ``replaced``."""
    missing = sorted(set(before) - set(after))
    assert not missing, f"published files disappeared: {missing}"
    changed = sorted(k for k in before if k not in replaced and before[k] != after[k])
    assert not changed, f"published files changed by a run that should not touch them: {changed}"


def parse_outputs(files: dict[str, bytes]) -> None:
    """Every JSON and YAML output parses (a torn write would not)."""
    for name, data in files.items():
        if name.endswith(".json"):
            json.loads(data)
        elif name.endswith(".yml"):
            yaml.safe_load(data)
