"""``POST /v1/run`` end to end: ``plexrecs loop`` starts a real dagster-webserver,
dagster-daemon and the API on loopback; runs go through Dagster's run queue and the
pipeline runs against the emulators."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from plexrecs_assets.keys import default_category_id

# The instance and workspace files the project ships (what docker-compose and `dagster dev` use).
REPO = Path(__file__).resolve().parents[2]
DAEMON_QUERY = '{ instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy } } } }'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, check, proc: subprocess.Popen, log: Path, timeout_s: float = 150) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"plexrecs loop exited while waiting for {what}:\n{log.read_text()[-3000:]}"
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def stop_everything(proc: subprocess.Popen, log: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Children live in their own process groups: make sure none outlives the test.
    for pid in re.findall(r"\(pid (\d+)\)", log.read_text()):
        try:
            os.killpg(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def loop_mode(emulators, tmp_path):
    from plexrecs_assets.demo import write_demo_config

    config_dir, data_dir, home = tmp_path / "config", tmp_path / "data", tmp_path / "dagster_home"
    write_demo_config(config_dir, data_dir, emulators.env())
    api_port, ui_port = free_port(), free_port()
    app_yml = config_dir / "app.yml"
    settings = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
    settings["api"].update(bind_addr=f"127.0.0.1:{api_port}", dagster_url=f"http://127.0.0.1:{ui_port}")
    app_yml.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    workspace = REPO / "workspace.yaml"
    env = {**os.environ, **emulators.env(), "DAGSTER_HOME": str(home), "PLEXRECS_CONFIG_DIR": str(config_dir)}
    env.pop("DAGSTER_WEBSERVER_URL", None)
    env.pop("API_TOKEN", None)
    log = tmp_path / "loop.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from plexrecs_assets.cli import main; main()", "loop", "--config-dir", str(config_dir),
             "-w", str(workspace)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path,
        )
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    try:
        wait_until("the API", lambda: httpx.get(f"{api}/v1/health", timeout=2).status_code == 200, proc, log)
        wait_until("dagster-webserver", lambda: httpx.get(f"{ui}/server_info", timeout=2).status_code == 200, proc, log)
        wait_until("dagster-daemon", lambda: httpx.post(f"{ui}/graphql", json={"query": DAEMON_QUERY}, timeout=5)
                   .json()["data"]["instance"]["daemonHealth"]["daemonStatus"]["healthy"], proc, log)
        # POST /v1/run makes the household's lists; the per-person categories are not in it.
        yield api, [c["label"] for c in yaml.safe_load((config_dir / "categories.yml").read_text(encoding="utf-8"))["categories"]
                    if c.get("audience", "household") == "household"]
    finally:
        stop_everything(proc, log)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_post_run_goes_through_dagster_and_is_one_at_a_time(loop_mode):
    api, labels = loop_mode
    first: dict = {}

    def post_all() -> None:
        first["response"] = httpx.post(f"{api}/v1/run", timeout=300)

    worker = threading.Thread(target=post_all)
    worker.start()
    try:
        while not httpx.get(f"{api}/v1/health", timeout=5).json()["run_in_progress"]:
            assert worker.is_alive() or "response" in first
            assert "response" not in first, f"the run ended before a second call could be made: {first['response'].text}"
            time.sleep(0.05)
        second = httpx.post(f"{api}/v1/run", json={"categories": labels[:1]}, timeout=30)
        assert second.status_code == 409
        assert second.json()["error"]["code"] == "run_in_progress"
    finally:
        worker.join(timeout=300)
    response = first["response"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["categories"] == labels
    [run] = body["dagster_runs"]  # all categories are contiguous: one run with a partition range
    ids = [default_category_id(label) for label in labels]  # Dagster partition keys are "category id|user"
    assert run["status"] == "SUCCESS" and run["partition_keys"] == [f"{i}|household" for i in ids]
    assert run["job"]["status"] == "success"
    assert run["run_id"] in run["job"]["dagster_run_ids"]
    assert {c["label"] for c in run["job"]["categories"]} == set(labels)
    latest = httpx.get(f"{api}/v1/runs/latest", timeout=5).json()
    assert latest["job_id"] == run["job"]["job_id"]

    # A non-contiguous subset is one run per block of neighbours, in categories.yml order.
    subset = [labels[2], labels[0]]
    response = httpx.post(f"{api}/v1/run", json={"categories": subset}, timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["categories"] == [labels[0], labels[2]]
    assert [r["partition_keys"] for r in body["dagster_runs"]] == [[f"{ids[0]}|household"], [f"{ids[2]}|household"]]
    assert all(r["status"] == "SUCCESS"
               and f'{default_category_id(r["job"]["categories"][0]["label"])}|household' == r["partition_keys"][0]
               for r in body["dagster_runs"])
    # A per-person category alone is refused before anything is submitted.
    refused = httpx.post(f"{api}/v1/run", json={"categories": ["movies-for-you"]}, timeout=30)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "per_person_only"
    assert httpx.get(f"{api}/v1/health", timeout=5).json()["run_in_progress"] is False


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_post_run_waits_with_a_bound_and_health_names_the_blocking_run(loop_mode, tmp_path, monkeypatch):
    import uuid

    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

    api, _labels = loop_mode
    app_yml = tmp_path / "config" / "app.yml"
    settings = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
    settings["api"].update(run_wait_timeout_s=3, stuck_run_after_s=1)
    app_yml.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    # A run Dagster believes STARTED and that carries no PlexRecs owner tags (nobody can tell
    # whether its process lives): with max_concurrent_runs 1 every queued run waits behind it.
    blocker_id = str(uuid.uuid4())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))  # the shipped dagster.yaml reads it
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        instance.add_run(DagsterRun(job_name="plexrecs_job", run_id=blocker_id, status=DagsterRunStatus.STARTED))

    response = httpx.post(f"{api}/v1/run", timeout=120)
    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert error["code"] == "run_timeout"
    assert "QUEUED" in error["message"] and "api.run_wait_timeout_s=3" in error["message"]
    assert httpx.get(f"{api}/v1/health", timeout=5).json()["run_in_progress"] is False

    health = httpx.get(f"{api}/v1/health", timeout=30).json()
    assert health["status"] == "degraded"
    stuck = {r["dagster_run_id"]: r for r in health["stuck_runs"]}
    assert stuck[blocker_id]["status"] == "STARTED" and stuck[blocker_id]["for_s"] >= 1
    assert any(r["status"] == "QUEUED" for r in stuck.values()), stuck


RUNS_QUERY = "{ runsOrError { __typename ... on Runs { results { runId status } } } }"


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_browser_cannot_start_a_run(loop_mode, tmp_path):
    """Issue 12: a web page making the browser post a form, or a DNS-rebinding page (foreign
    Host), is refused and no run starts, neither in PlexRecs' store nor in Dagster."""
    api, _labels = loop_mode
    ui = yaml.safe_load((tmp_path / "config" / "app.yml").read_text(encoding="utf-8"))["api"]["dagster_url"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    attempts = [
        {**form, "origin": "https://evil.example"},
        {**form, "host": "evil.example"},
        {"content-type": "text/plain", "origin": "https://evil.example"},
        {"content-type": "application/json", "host": "evil.example:80"},
    ]
    # An empty form (<form method=post>) is the one that ran everything before the fix.
    for headers, body in [(h, b) for h in attempts for b in (b"", b"categories=Cozy")]:
        answer = httpx.post(f"{api}/v1/run", content=body, headers=headers, timeout=30)
        assert 400 <= answer.status_code < 500, (headers, answer.text)
        assert answer.json()["error"]["code"] in ("origin_not_allowed", "host_not_allowed", "unsupported_media_type")
    runs = httpx.post(f"{ui}/graphql", json={"query": RUNS_QUERY}, timeout=30).json()["data"]["runsOrError"]
    assert runs["results"] == [], runs
    health = httpx.get(f"{api}/v1/health", timeout=5).json()
    assert health["last_run"] is None and health["run_in_progress"] is False
