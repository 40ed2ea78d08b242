from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading

import httpx
import pytest

from plexrecs_emulators.suite import EmulatorSuite

KEYS = ["TAUTULLI_URL", "TAUTULLI_API_KEY", "PLEX_URL", "PLEX_TOKEN", "TMDB_API_BASE", "TMDB_API_KEY",
        "LLM_API_BASE", "LLM_API_KEY", "OVERSEERR_URL", "OVERSEERR_API_KEY"]


def start_emulate(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from plexrecs_assets.cli import main; main()", "emulate", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    pairs = []
    for _ in KEYS:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            proc.kill()
            pytest.fail("plexrecs emulate printed nothing within 60 s")
        if not line:
            proc.wait()
            pytest.fail(f"plexrecs emulate exited early: {proc.stderr.read()}")
        pairs.append(line.rstrip("\n").split("=", 1))
    proc._lines = lines  # type: ignore[attr-defined]
    return proc, dict(pairs) | {"__order__": [k for k, _ in pairs]}


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_emulate_prints_the_ten_variables_serves_and_stops_cleanly(tiny_world_dir):
    proc, env = start_emulate("--world", str(tiny_world_dir), "--service", "tmdb", "--bad-credentials")
    try:
        assert env.pop("__order__") == KEYS
        assert env["TMDB_API_BASE"].endswith("/3") and env["LLM_API_BASE"].endswith("/v1")
        with httpx.Client(timeout=10) as http:
            r = http.get(f"{env['TAUTULLI_URL']}/api/v2", params={"apikey": env["TAUTULLI_API_KEY"],
                                                                 "cmd": "get_users"})
            assert r.status_code == 200 and len(r.json()["response"]["data"]) == 2
            # fault options only hit the named service
            r = http.get(f"{env['TMDB_API_BASE']}/genre/movie/list", params={"api_key": env["TMDB_API_KEY"]})
            assert r.status_code == 401
    finally:
        code = stop(proc)
    assert code == 0
    assert proc._lines.get(timeout=5) == ""  # nothing else on stdout


def test_emulate_rejects_an_unknown_service():
    proc = subprocess.run(
        [sys.executable, "-c", "from plexrecs_assets.cli import main; main()", "emulate", "--service", "jellyfin"],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "jellyfin" in proc.stderr and proc.stdout == ""


def test_suite_env_order_and_custom_keys(tiny_world_dir):
    with EmulatorSuite(tiny_world_dir, keys={"tmdb": "my-key"}) as suite:
        env = suite.env()
        assert list(env) == KEYS and env["TMDB_API_KEY"] == "my-key"
        r = httpx.get(f"{env['TMDB_API_BASE']}/movie/101", params={"api_key": "my-key"})
        assert r.status_code == 200
    with pytest.raises(ValueError, match="jellyfin"):
        EmulatorSuite(tiny_world_dir, ports={"jellyfin": 1})


def test_demo_world_fixture_serves_the_bundled_world(emulators):
    env = emulators.env()
    with httpx.Client(timeout=10) as http:
        mc = http.get(f"{env['PLEX_URL']}/library/sections/1/all",
                      headers={"Accept": "application/json", "X-Plex-Token": env["PLEX_TOKEN"],
                               "X-Plex-Container-Size": "0"}).json()["MediaContainer"]
        movies_in_inventory = sum(1 for i in emulators.world.inventory if i.section_id == "1")
        assert mc["totalSize"] == movies_in_inventory > 0
        hist = http.get(f"{env['TAUTULLI_URL']}/api/v2", params={"apikey": env["TAUTULLI_API_KEY"],
                                                                "cmd": "get_history", "length": 1}).json()
        assert hist["response"]["data"]["recordsTotal"] == len(emulators.world.history) > 0
