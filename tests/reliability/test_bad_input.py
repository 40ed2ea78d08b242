"""Hostile labels and odd Tautulli rows through a real run."""
from __future__ import annotations

import json
import re
import shutil
from urllib.parse import quote

import pytest
import yaml
from dagster import AssetKey, DagsterInstance
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_assets.outputs import MANIFEST_NAME, inside
from plexrecs_assets.publish.kometa_files import collection_title
from plexrecs_emulators.suite import EmulatorSuite
from plexrecs_emulators.world.loader import DEMO_WORLD_DIR
from reliability_helpers import CATEGORIES_YML, parse_outputs

pytestmark = pytest.mark.slow

ODD_LABELS = [
    "../../x/..",
    "a/b",
    "x" * 190,
    "Ünïcødé — 🎬 «test»",
    "..",
    "C:\\temp\\..\\evil",
    "key: value # &anchor *alias !tag |> [] {} '\" %",
    "- 'leading dash' ?",
]


def _categories_yml(labels: list[str]) -> str:
    categories = [{"label": label, "type": "genre", "media_types": ["movie", "tv"],
                   "tmdb_filters": {"include_genres": ["Documentary", "Crime"]}} for label in labels]
    return yaml.safe_dump({"categories": categories}, allow_unicode=True, sort_keys=False)


def test_hostile_labels_stay_inside_the_output_dirs_and_round_trip(make_workspace, suite, tmp_path):
    ws = make_workspace(suite, categories_yml=_categories_yml(ODD_LABELS), recs=3, overseerr=False)
    # A fresh process, as in production: Dagster's partitions are fixed when the code loads.
    proc = ws.plexrecs("run", "--config-dir", str(ws.config_dir))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out, err)
    job = ws.last_job()
    assert job["status"] == "success", job["error_msg"]
    rows = ws.category_rows(job["id"])
    assert sorted(rows) == sorted(ODD_LABELS)
    for label, row in rows.items():
        assert row["status"] == "success", (label, row["error_msg"])
        assert len(json.loads(open(row["resolved_json_path"], encoding="utf-8").read())["items"]) == 3

    # Nothing was written outside the workspace, and inside the data dir only the store and
    # the two output trees exist.
    assert [p.name for p in tmp_path.iterdir()] == [ws.root.name]
    store_files = {"plexrecs.sqlite", "plexrecs.sqlite-wal", "plexrecs.sqlite-shm", "plexrecs.sqlite.lock"}
    for path in ws.data_dir.rglob("*"):
        if path.is_file() and path.parent == ws.data_dir:
            assert path.name in store_files, path
    assert sorted(p.name for p in ws.data_dir.iterdir() if p.is_dir()) == ["kometa", "recommendations"]
    for path in ws.pmm_dir.iterdir():
        assert path.name == MANIFEST_NAME or re.fullmatch(r"plexrecs-[a-z0-9-]+-(movies|series)\.yml", path.name), path
    parse_outputs(ws.outputs())

    manifest = json.loads((ws.pmm_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    for label, row in rows.items():
        for column in ("raw_json_path", "resolved_json_path"):
            inside(ws.json_dir, row[column])
            assert json.loads(open(row[column], encoding="utf-8").read())["category"] == label
        for column, medium in (("pmm_movie_yaml_path", "movie"), ("pmm_tv_yaml_path", "tv")):
            path = inside(ws.pmm_dir, row[column])
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            (name, _definition), = doc["collections"].items()
            assert name == collection_title(label, medium) and label in name
            assert manifest[path.name]["label"] == label

    client = TestClient(create_app(ws.config_dir, env={}), base_url="http://127.0.0.1")
    for label in ODD_LABELS:
        # Dots too: a bare ".." segment would be resolved away by the HTTP client.
        answer = client.get(f"/v1/recs/{quote(label, safe='').replace('.', '%2E')}/latest")
        assert answer.status_code == 200, (label, answer.text)
        assert answer.json()["category"] == label


ODD_ROWS = [
    {"year": None, "title": "Odd Null Year", "full_title": "Odd Null Year"},  # usable: a year is optional
    {"title": "", "full_title": ""},
    {"rating_key": None},
    {"title": ["not", "text"], "full_title": None},
    {"title": 1917, "full_title": 1917},  # a numeric title sent as a JSON number
    {"percent_complete": "n/a", "user_id": "someone", "watched_status": "?", "year": "unknown"},
    {"percent_complete": float("inf")},
    {"date": None, "started": None},  # outside any lookback window: Tautulli filters it out
    {"media_type": "clip"},
    {"media_type": None},
    {"media_type": "episode", "grandparent_title": "", "grandparent_rating_key": None},
]


def _odd_world(tmp_path):
    world = tmp_path / "odd-world"
    shutil.copytree(DEMO_WORLD_DIR, world)
    lines = (world / "history.jsonl").read_text(encoding="utf-8").splitlines()
    template = json.loads(lines[-1])
    next_id = max(json.loads(line)["row_id"] for line in lines) + 1
    extra = []
    for offset, changes in enumerate(ODD_ROWS):
        row = dict(template)
        row.update({"reference_id": next_id + offset, "row_id": next_id + offset, "id": next_id + offset,
                    "media_type": "movie", "rating_key": 990000 + offset, "parent_rating_key": None,
                    "grandparent_rating_key": None})
        row.update(changes)
        extra.append(json.dumps(row))
    (world / "history.jsonl").write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    return world


def test_odd_tautulli_rows_are_skipped_and_counted(make_workspace, tmp_path):
    with EmulatorSuite(world=_odd_world(tmp_path)) as odd_suite:
        ws = make_workspace(odd_suite, categories_yml=CATEGORIES_YML, recs=3, overseerr=False)
        summary = ws.run()
    assert summary.status == "success", summary.error
    assert all(c.status == "success" and c.published == 3 for c in summary.categories)
    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey("watch_history"))
    metadata = event.asset_materialization.metadata
    skipped = metadata["skipped_rows"].value
    # The demo world's own odd row plus the empty title, the missing key, the list title and
    # the episode without a show; the clip and typeless rows never leave Tautulli's filter.
    assert skipped.get("missing_title_or_key", 0) >= 5, skipped
    assert metadata["rows_read"].value >= len(ODD_ROWS) - 2


@pytest.mark.parametrize("emptied, service, reason", [
    ("history.jsonl", "tautulli", "empty history"),
    ("inventory.csv", "plex", "empty inventory"),
])
def test_empty_history_or_inventory_fails_before_the_llm(make_workspace, tmp_path, emptied, service, reason):
    """Recommending on an empty history or library would repeat what the household owns or saw."""
    world = tmp_path / "empty-world"
    shutil.copytree(DEMO_WORLD_DIR, world)
    path = world / emptied
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n" if emptied.endswith(".csv") else "",
                    encoding="utf-8")
    with EmulatorSuite(world=world) as empty_suite:
        ws = make_workspace(empty_suite)
        summary = ws.run()
        chat = [r for r in empty_suite.llm.requests() if r["path"].endswith("/chat/completions")]
    assert summary.status == "failed"
    assert summary.error.startswith(f"{service}:") and reason in summary.error, summary.error
    assert chat == []
    assert ws.outputs() == {}
    assert ws.last_job()["status"] == "failed"
