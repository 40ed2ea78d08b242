"""Runs stuck past ``api.stuck_run_after_s``, for ``/v1/health``.

Two views, because each catches what the other misses: PlexRecs' own ``job_run`` rows still
``running`` (a process killed mid-run, until the next run recovers it), and Dagster runs
still queued, starting or started (a run left STARTED blocks every queued run behind it when
``max_concurrent_runs`` is 1, and a queued run that never starts is how that shows).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

_DAGSTER_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


class DagsterRuns:
    """Read access to the Dagster instance in ``DAGSTER_HOME`` (opened once, on first use)."""

    def __init__(self, dagster_home: str | None):
        self.home = dagster_home
        self._instance = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        return bool(self.home) and (Path(self.home) / "dagster.yaml").is_file()

    def _get(self):
        with self._lock:
            if self._instance is None:
                from dagster import DagsterInstance

                self._instance = DagsterInstance.from_config(self.home)
            return self._instance

    def stuck(self, limit_s: float, now: float | None = None) -> list[dict]:
        """Dagster runs queued, starting or started for longer than ``limit_s`` seconds."""
        if not self.available():
            return []
        from dagster import DagsterRunStatus, RunsFilter

        now = time.time() if now is None else now
        statuses = [DagsterRunStatus[name] for name in _DAGSTER_STATUSES]
        found = []
        for record in self._get().get_run_records(filters=RunsFilter(statuses=statuses)):
            run = record.dagster_run
            queued = run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)
            since = (None if queued else record.start_time) or record.create_timestamp.timestamp()
            if now - since > limit_s:
                found.append({"source": "dagster", "job_id": None, "dagster_run_id": run.run_id,
                              "status": run.status.value,
                              "since": datetime.fromtimestamp(since, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                              "for_s": int(now - since)})
        return found
