"""SIGKILL in the middle of a ``plexrecs run``: the next run recovers and nothing is lost."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest
from fastapi.testclient import TestClient
from urllib.parse import quote

from plexrecs_api.app import create_app
from plexrecs_assets.store.runs import INTERRUPTED
from reliability_helpers import LABELS, PLEXRECS, REPO_ROOT, assert_untouched_except, parse_outputs

pytestmark = pytest.mark.slow
WAIT_S = 120  # upper bound for the subprocess to reach the kill point; never a timing assertion


def _wait_for(predicate, proc, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"plexrecs run ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def test_sigkill_mid_run_then_next_run_recovers(make_workspace, suite):
    ws = make_workspace(suite)
    first = ws.run()
    assert first.status == "success", first.error
    published = ws.outputs()

    # Kometa files are written category by category, each followed by its Overseerr requests:
    # a slow Overseerr holds the run just after the first category has published.
    crime_yml = {p: published[p] for p in published if p.startswith("kometa/") and "true-crime" in p}
    cozy_yml = {p: published[p] for p in published if p.startswith("kometa/") and "cozy" in p}
    assert len(crime_yml) == 2 and len(cozy_yml) == 2
    suite.overseerr.set_faults(latency_s=5.0)
    killed_id = first.job_ids[-1] + 1
    killed_dir = ws.json_dir / "runs" / f"{killed_id:06d}"

    def crime_republished() -> bool:
        if not ws.db_path.exists():
            return False
        rows = ws.sql("select status from category_run where job_id = ? and label = 'True Crime'", killed_id)
        return bool(rows) and rows[0]["status"] == "success"

    # Eight days on: the first run's picks have aged out and may not come back, so the killed
    # run publishes different True Crime files (61 days on, it could pick the same ones again).
    import datetime as _dt
    eight_days_on = (_dt.date.today() + _dt.timedelta(days=8)).isoformat()
    proc = ws.plexrecs("run", "--config-dir", str(ws.config_dir), "--as-of", eight_days_on)
    try:
        _wait_for(crime_republished, proc, "the first category to publish")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert ws.sql("select status from job_run where id = ?", killed_id)[0]["status"] == "running"
    # The category published before the kill is whole; the other one still has its previous files.
    at_kill = ws.outputs()
    assert_untouched_except(published, at_kill, replaced=set(crime_yml) | {"kometa/.plexrecs-manifest.json"})
    assert any(at_kill[p] != old for p, old in crime_yml.items()), "the kill landed before True Crime published"
    parse_outputs(at_kill)
    # What a writer killed between its temp file and the rename leaves behind.
    stale = [ws.pmm_dir / ".plexrecs-x-movies.yml.k1ll3d.tmp", killed_dir / ".cozy-x.resolved.json.k1ll3d.tmp"]
    for path in stale:
        path.write_text("half a fi", encoding="utf-8")
    foreign = ws.pmm_dir / ".kometa-cache.tmp"  # not ours: Kometa's folder is shared
    foreign.write_text("keep", encoding="utf-8")

    suite.overseerr.set_faults(latency_s=0.0)
    again = ws.run()
    assert again.status == "success", again.error
    assert all(c.status == "success" and c.published == 5 for c in again.categories)

    conn = sqlite3.connect(ws.db_path)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("pragma foreign_key_check").fetchall() == []
        status, error, finished = conn.execute("select status, error_msg, finished_at from job_run where id = ?",
                                                (killed_id,)).fetchone()
        categories = conn.execute("select label, status, error_msg from category_run where job_id = ?",
                                  (killed_id,)).fetchall()
    finally:
        conn.close()
    assert (status, error) == ("failed", INTERRUPTED) and finished
    assert {label: (cat_status, cat_error) for label, cat_status, cat_error in categories} == {
        "True Crime": ("success", None),  # published before the kill
        "Cozy": ("failed", INTERRUPTED),
    }
    assert ws.temp_files() == [foreign]
    parse_outputs(ws.outputs())

    # Dagster's side: the killed run is failed, none is left in progress, and the queue moves.
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    killed_run_id = ws.sql("select dagster_run_id from run_link where job_id = ?", killed_id)[0]["dagster_run_id"]
    with DagsterInstance.get() as instance:
        in_progress = instance.get_run_records(filters=RunsFilter(
            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING]))
        assert [r.dagster_run.run_id for r in in_progress] == []
        killed_run = instance.get_run_by_id(killed_run_id)
        assert killed_run.status == DagsterRunStatus.FAILURE
    _assert_a_queued_run_starts(ws)

    # The API serves the recovered run, not the killed one.
    client = TestClient(create_app(ws.config_dir, env={}), base_url="http://127.0.0.1")
    latest = client.get("/v1/runs/latest")
    assert latest.status_code == 200 and latest.json()["status"] == "success"
    for label in LABELS:
        answer = client.get(f"/v1/recs/{quote(label, safe='')}/latest")
        assert answer.status_code == 200, answer.text
        assert answer.json()["category"] == label and len(answer.json()["items"]) == 5


def _assert_a_queued_run_starts(ws) -> None:
    """Queue a run of the whole job (as the schedule or POST /v1/run would) and let a real
    dagster-daemon dequeue it (max_concurrent_runs: 1, so a run left STARTED would block it)."""
    from dagster import DagsterInstance, DagsterRunStatus

    from plexrecs_assets.config import load_categories
    from plexrecs_assets.run_blocks import PairBlock

    # Partition keys are "category id|user", never labels (labels may hold characters Dagster forbids).
    by_label = {c.label: c.id for c in load_categories(ws.config_dir)}
    keys = [by_label[label] for label in LABELS]
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env.update(ws.env, PLEXRECS_CONFIG_DIR=str(ws.config_dir), PYTHONUNBUFFERED="1")
    workspace = str(REPO_ROOT / "workspace.yaml")
    bin_dir = PLEXRECS.parent
    launched = subprocess.run(
        [str(bin_dir / "dagster"), "job", "launch", "-w", workspace, "-j", "plexrecs_job",
         "--tags", json.dumps(PairBlock(tuple(keys), ("household",)).tags())],
        env=env, cwd=ws.root, capture_output=True, text=True, timeout=WAIT_S)
    assert launched.returncode == 0, launched.stderr[-3000:]
    with DagsterInstance.get() as instance:
        queued = [r.dagster_run for r in instance.get_run_records()
                  if r.dagster_run.status == DagsterRunStatus.QUEUED]
    assert len(queued) == 1, [r.dagster_run.status for r in instance.get_run_records()]
    run_id = queued[0].run_id
    log = open(ws.root / "daemon.log", "w")
    daemon = subprocess.Popen([str(bin_dir / "dagster-daemon"), "run", "-w", workspace], env=env, cwd=ws.root,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    terminal = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)
    try:
        with DagsterInstance.get() as instance:
            deadline = time.monotonic() + WAIT_S
            while instance.get_run_by_id(run_id).status not in terminal:
                assert daemon.poll() is None, (ws.root / "daemon.log").read_text()[-3000:]
                if time.monotonic() > deadline:
                    pytest.fail(f"the queued run {run_id} never finished (status "
                                f"{instance.get_run_by_id(run_id).status}): the queue is blocked")
                time.sleep(0.5)
    finally:
        try:
            os.killpg(daemon.pid, signal.SIGTERM)  # the daemon and the code server it started
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
        except ProcessLookupError:
            pass
        log.close()
    with DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS, (ws.root / "daemon.log").read_text()[-3000:]
