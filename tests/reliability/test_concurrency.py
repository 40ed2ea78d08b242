"""Two runs at once, and API reads while a run writes."""
from __future__ import annotations

import json
import os
import signal
import time
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from reliability_helpers import LABELS

pytestmark = pytest.mark.slow
WAIT_S = 180  # upper bound only; nothing here asserts on time


def _job_running(ws, after_id: int) -> bool:
    if not ws.db_path.exists():
        return False
    return bool(ws.sql("select id from job_run where id > ? and status = 'running'", after_id))


def _read_everything(client: TestClient, ws) -> int:
    """One round of reads; every answer must be whole. Returns how many bodies were checked."""
    checked = 0
    for label in LABELS:
        answer = client.get(f"/v1/recs/{quote(label, safe='')}/latest")
        assert answer.status_code == 200, answer.text
        body = json.loads(answer.content)
        assert body["category"] == label and len(body["items"]) == 5
        checked += 1
    runs = client.get("/v1/runs/latest")
    assert runs.status_code == 200, runs.text
    json.loads(runs.content)
    pmm = client.get("/v1/pmm/collections")
    assert pmm.status_code == 200, pmm.text
    json.loads(pmm.content)
    for path in ws.pmm_dir.glob("plexrecs-*.yml"):
        doc = yaml.safe_load(path.read_bytes())
        assert isinstance(doc, dict) and doc["collections"], path
        checked += 1
    return checked + 2


def test_second_run_refuses_while_reads_stay_whole(make_workspace, suite):
    ws = make_workspace(suite)
    first = ws.run()
    assert first.status == "success", first.error
    client = TestClient(create_app(ws.config_dir, env={}), base_url="http://127.0.0.1")
    _read_everything(client, ws)

    running = ws.plexrecs("run", "--config-dir", str(ws.config_dir))
    try:
        deadline = time.monotonic() + WAIT_S
        while not _job_running(ws, first.job_ids[-1]):
            assert running.poll() is None, running.communicate()
            assert time.monotonic() < deadline, "the first run never started"
            time.sleep(0.02)
        # Frozen while it holds the lock, the first run cannot finish before the second asks.
        os.kill(running.pid, signal.SIGSTOP)
        try:
            second = ws.plexrecs("run", "--config-dir", str(ws.config_dir))
            out, err = second.communicate(timeout=WAIT_S)
        finally:
            os.kill(running.pid, signal.SIGCONT)
        assert second.returncode == 2, (out, err)
        assert "another PlexRecs run is in progress" in " ".join(err.split()), err

        reads = 0
        while running.poll() is None:
            reads += _read_everything(client, ws)
            assert time.monotonic() < deadline, "the first run did not finish"
        reads += _read_everything(client, ws)
        out, err = running.communicate()
    finally:
        if running.poll() is None:
            running.kill()
            running.communicate()
    assert running.returncode == 0, (out, err)
    assert reads > 0
    # The refused run left no trace: one new job, and it succeeded.
    jobs = ws.sql("select id, status from job_run where id > ?", first.job_ids[-1])
    assert [j["status"] for j in jobs] == ["success"]
    assert client.get("/v1/runs/latest").json()["job_id"] == jobs[0]["id"]
