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

from sqlalchemy import Connection, select
from sqlalchemy.exc import OperationalError

from plexrecs_assets.store.schema import job_run, run_link

_DAGSTER_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def stuck_jobs(conn: Connection, limit_s: float, now: float) -> list[dict]:
    """``job_run`` rows still ``running`` after ``limit_s`` seconds."""
    try:
        rows = conn.execute(select(job_run.c.id, job_run.c.started_at, run_link.c.dagster_run_id)
                            .select_from(job_run.outerjoin(run_link, run_link.c.job_id == job_run.c.id))
                            .where(job_run.c.status == "running")).all()
    except OperationalError:  # an empty store without the tables yet
        return []
    stuck = []
    for row in rows:
        started = _epoch(row.started_at)
        if started is not None and now - started > limit_s:
            stuck.append({"source": "plexrecs", "job_id": row.id, "dagster_run_id": row.dagster_run_id,
                          "status": "running", "since": row.started_at, "for_s": int(now - started)})
    return stuck


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
