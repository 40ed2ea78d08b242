"""Labels Dagster would refuse as partition keys run end to end: ``plexrecs check``, ``plexrecs
run``, the Dagster partitions (a real instance) and the API. Real emulators over loopback, a real
SQLite file, real subprocesses for the CLI."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_assets.config import load_categories
from plexrecs_assets.keys import default_category_id
from plexrecs_assets.demo import secrets_env, write_demo_config

TRICKY_LABELS = ["Wait... What?", "A|B, [C]", "🍿🎬"]
CATEGORIES_YML = """categories:
  - label: "Wait... What?"
    type: "keyword"
    mood_keywords: ["cozy","gentle","uplifting"]
  - label: "A|B, [C]"
    type: "genre"
    tmdb_filters: { include_genres: ["Documentary","Crime"] }
  - label: "🍿🎬"
    type: "keyword"
    mood_keywords: ["gentle","uplifting"]
"""


@pytest.fixture(scope="module")
def tricky(emulators, tmp_path_factory):
    """A demo config with the tricky labels, after one ``plexrecs run`` subprocess."""
    root = tmp_path_factory.mktemp("tricky")
    (root / "categories.yml").write_text(CATEGORIES_YML, encoding="utf-8")
    write_demo_config(root / "config", root / "data", emulators.env(), categories_file=root / "categories.yml",
                      recs_per_category=5)
    (root / "dagster_home").mkdir()
    env = {**os.environ, **secrets_env(emulators.env()), "DAGSTER_HOME": str(root / "dagster_home"),
           "PLEXRECS_CONFIG_DIR": str(root / "config")}
    run = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(root / "config")],
                         env=env, capture_output=True, text=True, timeout=600)
    return root, env, run


def test_check_accepts_the_labels(tricky):
    root, env, _ = tricky
    check = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "check", "--config-dir", str(root / "config")],
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 categories" in check.stdout
    for label in TRICKY_LABELS:  # listed with their ids, printed literally (no markup eaten)
        assert f"{default_category_id(label)}  {label}" in check.stdout


def test_run_publishes_every_tricky_label(tricky):
    root, _, run = tricky
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    db = sqlite3.connect(root / "data" / "plexrecs.sqlite")
    rows = db.execute("select label, status, resolved_json_path, pmm_movie_yaml_path from category_run").fetchall()
    assert sorted(r[0] for r in rows) == sorted(TRICKY_LABELS)
    for label, status, resolved, pmm_movie in rows:
        assert status == "success"
        assert Path(resolved).name == f"{default_category_id(label)}.resolved.json"
        assert Path(pmm_movie).name == f"plexrecs-{default_category_id(label)}-movies.yml"
        assert json.loads(Path(resolved).read_text(encoding="utf-8"))["category"] == label
    history = dict(db.execute("select label, count(*) from recommendation_history group by label").fetchall())
    assert set(history) == set(TRICKY_LABELS) and all(history.values())
    keys = json.loads(db.execute("select partition_keys from run_link").fetchone()[0])
    assert keys == [f"{default_category_id(label)}|household" for label in TRICKY_LABELS]
    assert "[C]" in run.stdout  # the summary table shows the label as written


def test_dagster_partitions_are_the_ids(tricky, monkeypatch):
    root, env, _ = tricky
    monkeypatch.setenv("PLEXRECS_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    from dagster import AssetKey, DagsterInstance

    from plexrecs_assets.definitions import build_definitions

    defs = build_definitions()  # must load: a label is never a partition key
    ids = [c.id for c in load_categories(root / "config")]
    categories = defs.resolve_assets_def("raw_recs").partitions_def.get_partitions_def_for_dimension("category")
    assert list(categories.get_partition_keys()) == ids
    with DagsterInstance.get() as instance:  # the run above materialized every household partition
        assert instance.get_materialized_partitions(AssetKey("pmm_collections")) == {f"{i}|household" for i in ids}
    # Loop mode: the daily schedule asks for the id range, which the partitions accept.
    from datetime import datetime, timezone

    from dagster import build_schedule_context

    schedule = defs.resolve_schedule_def("daily_recommendations")
    with DagsterInstance.get() as instance, build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 12, 2, 3, tzinfo=timezone.utc)) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == f"{ids[0]}|household"
    assert request.tags["dagster/asset_partition_range_end"] == f"{ids[-1]}|household"
    with DagsterInstance.get() as instance:
        assert "household" in instance.get_dynamic_partitions("users")
    assert all(categories.has_partition_key(key) for key in (ids[0], ids[-1]))


def test_api_serves_the_labels_and_the_ids(tricky):
    root, _, _ = tricky
    with TestClient(create_app(root / "config", env={}), raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        categories = client.get("/v1/categories").json()["categories"]
        assert [(c["label"], c["id"]) for c in categories] == [(l, default_category_id(l)) for l in TRICKY_LABELS]
        for label in TRICKY_LABELS:
            by_label = client.get(f"/v1/recs/{quote(label, safe='')}/latest")
            by_id = client.get(f"/v1/categories/{default_category_id(label)}/recs/latest")
            assert by_label.status_code == 200, by_label.text
            assert by_label.json() == by_id.json() and by_id.json()["category"] == label and by_id.json()["items"]
            raw = client.get(f"/v1/recs/{quote(label, safe='')}/latest/raw")
            assert raw.status_code == 200 and raw.json()["category"] == label
