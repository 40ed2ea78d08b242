"""Dagster runs left STARTED by a process that is gone are failed by whoever takes the run lock
next (``plexrecs loop``/``serve`` start and the schedule's tick call ``recover_if_idle``)."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from plexrecs_assets.dagster_runs import HOST_TAG, LOCK_TAG, PID_TAG, owner_tags, recover_if_idle
from plexrecs_assets.store import runs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _add(instance, tags: dict, status=DagsterRunStatus.STARTED) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(DagsterRun(job_name="plexrecs_job", run_id=run_id, status=status, tags=tags))
    return run_id


def test_recover_if_idle_fails_only_this_databases_runs_of_gone_processes(instance_home, tmp_path):
    db = tmp_path / "data" / "plexrecs.sqlite"
    other_db = tmp_path / "other" / "plexrecs.sqlite"
    gone = {LOCK_TAG: runs.lock_path(db), PID_TAG: "999999", HOST_TAG: "a-container-that-was-killed"}
    with DagsterInstance.get() as instance:
        orphan = _add(instance, gone)
        starting = _add(instance, gone, DagsterRunStatus.STARTING)
        other_database = _add(instance, {**gone, LOCK_TAG: runs.lock_path(other_db)})
        this_process = _add(instance, owner_tags(db))
        untagged = _add(instance, {})
    assert sorted(recover_if_idle(db)) == sorted([orphan, starting])
    with DagsterInstance.get() as instance:
        status = {run_id: instance.get_run_by_id(run_id).status
                  for run_id in (orphan, starting, other_database, this_process, untagged)}
    assert status == {orphan: DagsterRunStatus.FAILURE, starting: DagsterRunStatus.FAILURE,
                      other_database: DagsterRunStatus.STARTED, this_process: DagsterRunStatus.STARTED,
                      untagged: DagsterRunStatus.STARTED}
    assert runs.lock_path(db) not in runs._HELD_LOCKS  # released again


def test_recover_if_idle_leaves_runs_alone_while_another_process_holds_the_lock(instance_home, tmp_path):
    db = tmp_path / "data" / "plexrecs.sqlite"
    db.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from plexrecs_assets.store import runs; "
                               f"assert runs.acquire_run_lock({str(db)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert holder.stdout.readline().strip() == "held"
        with DagsterInstance.get() as instance:
            live = _add(instance, {LOCK_TAG: runs.lock_path(db), PID_TAG: str(holder.pid), HOST_TAG: "elsewhere"})
        assert recover_if_idle(db) == []
        with DagsterInstance.get() as instance:
            assert instance.get_run_by_id(live).status == DagsterRunStatus.STARTED
    finally:
        holder.kill()
        holder.wait()
