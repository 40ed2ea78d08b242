"""API latency: ``plexrecs serve`` on a finished demo run, loaded from a second process."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import httpx

from benchmarks.harness import REPO_DIR, Scenario

P99_TARGET_MS = 20.0
CLIENTS = 50
SECONDS = 10.0
# The bounded load the target is judged on: 50 dashboards polling 5 times a second each.
RATE_PER_CLIENT = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_paths(labels: list[str]) -> list[str]:
    paths = ["/v1/health", "/v1/categories", "/v1/runs/latest"]
    paths += [f"/v1/recs/{quote(label, safe='')}/latest" for label in labels]
    return paths + ["/v1/pmm/collections"]


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"plexrecs serve exited early with code {proc.returncode}")
        try:
            if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"plexrecs serve did not answer on {url} within {timeout_s} s")


def bench_api(scenario: Scenario, labels: list[str]) -> dict:
    """``scenario`` must already have a successful run (the warm benchmark leaves one)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (scenario.root / "serve.log").open("ab")
    # The load sends no token: an API_TOKEN from the caller's shell would turn it into 401s.
    open_env = {k: v for k, v in scenario.env().items() if k != "API_TOKEN"}
    server = subprocess.Popen([sys.executable, "-m", "plexrecs_assets.cli", "serve", "--config-dir",
                               str(scenario.config_dir), "--host", "127.0.0.1", "--port", str(port)],
                              env=open_env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR)
    try:
        wait_ready(url, server)
        paths = get_paths(labels)
        for path in paths:  # every endpoint must answer 200 before its latency means anything
            status = httpx.get(url + path, timeout=5).status_code
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status} before the load started")
        # Bounded: the target. Back to back: the capacity, where latency is clients / throughput.
        result = {"paced": load(url, paths, RATE_PER_CLIENT), "capacity": load(url, paths, 0.0)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    paced = result["paced"]
    result.update(target_p99_ms=P99_TARGET_MS, met=paced["overall"]["p99_ms"] <= P99_TARGET_MS
                  and set(paced["statuses"]) == {"200"})
    return result


def load(url: str, paths: list[str], rate: float) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.load", url, "--clients", str(CLIENTS), "--seconds", str(SECONDS),
           "--rate", str(rate)]
    for path in paths:
        cmd += ["--path", path]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS + 60, cwd=REPO_DIR)
    if done.returncode != 0:
        raise RuntimeError(f"load script failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)
