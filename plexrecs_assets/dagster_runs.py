"""Dagster runs whose process is gone: find them and mark them failed.

A ``plexrecs run`` (or a run worker launched by the daemon) that is killed with SIGKILL never
reports its end, so Dagster keeps the run STARTED forever; with ``max_concurrent_runs: 1``
every later queued run (the daily schedule, ``POST /v1/run``) then waits behind it.

Every PlexRecs run is tagged with the run lock it takes (the database's lock file) and the
pid and host of its process. A process holds that lock for as long as it runs, and the kernel
releases it when the process dies; so whoever holds the lock knows that any other run still
STARTED under the same lock has lost its process, and fails it.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from plexrecs_assets.store import runs

log = logging.getLogger("plexrecs")

LOCK_TAG = "plexrecs/lock"
PID_TAG = "plexrecs/pid"
HOST_TAG = "plexrecs/host"


def owner_tags(db_path: str | Path) -> dict[str, str]:
    """Tags naming the process that runs a Dagster run and the run lock it holds."""
    return {LOCK_TAG: runs.lock_path(db_path), PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _is_this_process(tags) -> bool:
    return tags.get(PID_TAG) == str(os.getpid()) and tags.get(HOST_TAG) == socket.gethostname()


def fail_orphaned_runs(instance, db_path: str | Path, *, current_run_id: str | None = None) -> list[str]:
    """Fail the runs in STARTED/STARTING/CANCELING that were started under this database's
    run lock by a process that no longer exists. The caller must hold the run lock."""
    from dagster import DagsterRunStatus, RunsFilter

    lock = runs.lock_path(db_path)
    statuses = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=statuses, tags={LOCK_TAG: lock})):
        run = record.dagster_run
        if run.run_id == current_run_id or _is_this_process(run.tags):
            continue  # this process is alive (another in-process run of it may be under way)
        message = (f"PlexRecs: the process of this run (pid {run.tags.get(PID_TAG, '?')} on "
                   f"{run.tags.get(HOST_TAG, '?')}) ended without reporting the end of the run (killed, "
                   "crashed or the machine restarted); marked failed so that queued runs can start")
        instance.report_run_failed(run, message)
        log.warning("marked orphaned Dagster run %s failed: its process is gone", run.run_id)
        failed.append(run.run_id)
    return failed


def recover_if_idle(db_path: str | Path, instance=None) -> list[str]:
    """Outside of any run (``plexrecs loop``/``serve`` start, the schedule's tick): when no
    PlexRecs run holds the lock, fail orphaned Dagster runs and PlexRecs' own ``running``
    job rows. Does nothing when a run is in progress or there is no Dagster instance yet."""
    home = os.environ.get("DAGSTER_HOME")
    if instance is None and (not home or not (Path(home) / "dagster.yaml").is_file()):
        return []
    with runs.run_lock_if_free(db_path) as free:
        if not free:
            return []
        if instance is not None:
            failed = fail_orphaned_runs(instance, db_path)
        else:
            from dagster import DagsterInstance

            with DagsterInstance.get() as own_instance:
                failed = fail_orphaned_runs(own_instance, db_path)
        if Path(db_path).exists():
            from plexrecs_assets.store.db import init_db

            runs.recover_interrupted_runs(init_db(str(db_path)))
        return failed
