"""The Dagster UI's way of working: partition backfills through dagster-webserver and the
daemon (real processes on loopback). The daemon's sensor fills the ``user`` dimension from
Tautulli; then one backfill covers non-adjacent household categories plus upstream (one with a
label Dagster would refuse as a partition key: the partitions are category ids), and a second
covers one person (every per-person category for ``samvoid``)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TRICKY = """  - {label: "Wait... What?", type: keyword, mood_keywords: [cozy, gentle]}
  - {label: "A|B, [C]", type: genre, tmdb_filters: {include_genres: [Documentary, Crime]}}
  - {label: "🍿🎬", type: keyword, mood_keywords: [gentle, uplifting]}
"""

LAUNCH = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"""
STATUS = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 10) { runId status } } } }"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_backfill_of_two_categories_from_the_ui(demo_suite, tmp_path):
    from plexrecs_assets.keys import default_category_id
    from plexrecs_assets.demo import REPO_CONFIG_DIR, write_demo_config

    categories = tmp_path / "categories.yml"
    categories.write_text((REPO_CONFIG_DIR / "categories.yml").read_text(encoding="utf-8") + TRICKY, encoding="utf-8")
    write_demo_config(tmp_path / "config", tmp_path / "data", demo_suite.env(), recs_per_category=5,
                      categories_file=categories)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **demo_suite.env(), "DAGSTER_HOME": str(home), "PLEXRECS_CONFIG_DIR": str(tmp_path / "config")}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    procs = [
        subprocess.Popen([str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(REPO / "workspace.yaml")],
                         env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True),
        subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
                         env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True),
    ]
    try:
        # Wait until the webserver answers and has finished loading the code location.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                data = httpx.post(f"{url}/graphql", json={"query": LOCATIONS}, timeout=5).json()["data"]
                entries = data["workspaceOrError"].get("locationEntries") or []
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    break
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass
            time.sleep(1)
        users = _wait_for_user_partitions(home, deadline)
        assert users[0] == "household" and {"dana-p", "samvoid", "riley-kids"} <= set(users)
        assets = ("watch_history", "plex_inventory", "taste_profile", "plex_users", "person_tastes",
                  "raw_recs", "resolved_recs", "pmm_collections")
        household = [f"{default_category_id(label)}|household" for label in ("True Crime", "Cozy", "A|B, [C]")]
        _backfill(url, assets, household, deadline)
        one_person = [f"{c}|samvoid" for c in ("movies-for-you", "shows-for-you", "documentaries-for-you")]
        _backfill(url, assets, one_person, deadline + 120)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    conn = sqlite3.connect(tmp_path / "data" / "plexrecs.sqlite")
    assert {s for (s,) in conn.execute("select status from job_run")} == {"success"}
    published = {(user, category): status for user, category, status in conn.execute(
        "select t.user_key, t.category_id, r.status from category_run r "
        "join category_run_target t on t.category_run_id = r.id")}
    assert published == {("household", default_category_id("True Crime")): "success",
                         ("household", default_category_id("Cozy")): "success",
                         ("household", default_category_id("A|B, [C]")): "success",
                         ("samvoid", "movies-for-you"): "success", ("samvoid", "shows-for-you"): "success",
                         ("samvoid", "documentaries-for-you"): "success"}
    playlists = sorted(p.name for p in (tmp_path / "data" / "kometa" / "playlists").iterdir())
    assert playlists == ["samvoid--documentaries-for-you.yml", "samvoid--movies-for-you.yml",
                         "samvoid--shows-for-you.yml"]


def _wait_for_user_partitions(home: Path, deadline: float) -> list[str]:
    """The user partition keys once the daemon's sensor has added the demo's people."""
    from unittest import mock

    from dagster import DagsterInstance

    # dagster.yaml names its storage by {env: DAGSTER_HOME}, as the daemon's own environment has it.
    with mock.patch.dict(os.environ, {"DAGSTER_HOME": str(home)}), DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            keys = list(instance.get_dynamic_partitions("users"))
            if len(keys) >= 4:
                return keys
            time.sleep(1)
    raise AssertionError("the user_partitions_sensor did not add the users in time")


def _backfill(url: str, assets, partitions: list[str], deadline: float) -> None:
    params = {"assetSelection": [{"path": [k]} for k in assets], "partitionNames": partitions, "fromFailure": False}
    launched = httpx.post(f"{url}/graphql", json={"query": LAUNCH, "variables": {"p": params}}, timeout=60).json()
    outcome = launched["data"]["launchPartitionBackfill"]
    assert outcome["__typename"] == "LaunchBackfillSuccess", outcome
    backfill_id = outcome["backfillId"]
    backfill = {}
    while time.monotonic() < deadline + 120:
        backfill = httpx.post(f"{url}/graphql", json={"query": STATUS, "variables": {"id": backfill_id}},
                              timeout=60).json()["data"]["partitionBackfillOrError"]
        if backfill["status"].startswith("COMPLETED") and backfill["runs"] and \
                all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in backfill["runs"]):
            break
        time.sleep(2)
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
