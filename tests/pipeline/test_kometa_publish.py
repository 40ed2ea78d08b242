"""Kometa files over a real run (emulators, SQLite, Dagster): a collection that loses its series
is retired, add_missing is opt-in and capped, and pmm_files_valid passes what was written."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from plexrecs_assets.publish.kometa_files import add_missing_title, collection_title, validate_collection_text
from plexrecs_assets.runner import run_once

CATEGORY = """categories:
  - label: "True Crime"
    type: "genre"
    media_types: {media}
    tmdb_filters:
      include_genres: ["Documentary","Crime"]
    kometa: {{radarr_add_missing: true, add_missing_limit: 2}}
"""


def _definitions(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["collections"]


def test_series_collection_is_retired_when_the_category_drops_series(demo_env, demo_suite):
    categories = demo_env / "config" / "categories.yml"
    categories.write_text(CATEGORY.format(media='["movie","tv"]'), encoding="utf-8")
    first = run_once(demo_env / "config")
    assert first.status == "success", first.error
    (cat,) = first.categories
    series = next(f for f in cat.files if f.endswith("-series.yml"))
    movies = next(f for f in cat.files if f.endswith("-movies.yml"))
    day1 = _definitions(series)[collection_title("True Crime", "tv")]
    assert day1["tmdb_show"], "the demo world has true-crime series; the test needs some on day 1"
    assert "sonarr_add_missing" not in Path(series).read_text(encoding="utf-8")  # only Radarr was opted in
    radarr = _definitions(movies)[add_missing_title("True Crime", "movie")]
    picks = _definitions(movies)[collection_title("True Crime", "movie")]["tmdb_movie"]
    assert radarr["tmdb_movie"] == picks[:2] and radarr["build_collection"] is False

    categories.write_text(CATEGORY.format(media='["movie"]'), encoding="utf-8")
    second = run_once(demo_env / "config")
    assert second.status == "success", second.error  # pmm_files_valid passed the retired file
    (cat,) = second.categories
    assert next(f for f in cat.files if f.endswith("-series.yml")) == series  # same file, same collection name
    assert _definitions(series) == {collection_title("True Crime", "tv"): {"schedule": "never",
                                                                          "delete_not_scheduled": True}}
    assert validate_collection_text(Path(series).read_text(encoding="utf-8"), "tv").retired
    assert [(k["media_type"], k["state"]) for k in cat.kometa] == [("movie", "collection"), ("tv", "retired")]
    conn = sqlite3.connect(demo_env / "data" / "plexrecs.sqlite")
    rows = conn.execute("select job_id, media_type, state, items, in_plex, add_missing from kometa_publication "
                        "order by id").fetchall()
    assert [(r[1], r[2]) for r in rows] == [("movie", "collection"), ("tv", "collection"),
                                            ("movie", "collection"), ("tv", "retired")]
    assert all(r[4] == 0 for r in rows)  # PlexRecs publishes only titles Plex lacks
    assert [len(json.loads(r[5])) for r in rows] == [2, 0, 2, 0]

    # GET /v1/runs/latest reports the same per category.
    from fastapi.testclient import TestClient

    from plexrecs_api.app import create_app

    latest = TestClient(create_app(demo_env / "config", env={}), base_url="http://127.0.0.1").get("/v1/runs/latest")
    assert latest.status_code == 200, latest.text
    (api_cat,) = latest.json()["categories"]
    assert [(k["media_type"], k["state"], k["in_plex"], len(k["add_missing"])) for k in api_cat["kometa"]] == [
        ("movie", "collection", 0, 2), ("tv", "retired", 0, 0)]
