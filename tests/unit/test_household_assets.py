"""The household assets materialized with in-memory fake services (defs/shared/fakes.py): no HTTP,
a real SQLite file and an ephemeral Dagster instance. Integration tests over the emulators
cover the same assets end to end."""
from __future__ import annotations

import json
import sqlite3
import time

from dagster import DagsterInstance, materialize

from plexrecs_assets.config import load_app_config
from plexrecs_assets.defs.shared.fakes import FakePlexResource, FakeTautulliResource
from plexrecs_assets.defs.video_recs.household import plex_inventory, watch_history
from plexrecs_assets.defs.shared.runtime import RunRecord
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.demo import write_demo_config

NOWHERE = {name: "http://127.0.0.1:9" for name in ("TAUTULLI_URL", "PLEX_URL", "LLM_API_BASE", "OVERSEERR_URL")}
NOWHERE["TMDB_API_BASE"] = "http://127.0.0.1:9/3"


def _config(tmp_path):
    write_demo_config(tmp_path / "config", tmp_path / "data", NOWHERE)
    return tmp_path / "config"


def _rows() -> list[dict]:
    two_days_ago = int(time.time()) - 2 * 86400
    return [
        {"row_id": 1, "media_type": "movie", "user_id": 1, "date": two_days_ago, "percent_complete": 100,
         "rating_key": 101, "title": "Zodiac", "year": 2007},
        {"row_id": 2, "media_type": "episode", "user_id": 2, "date": two_days_ago, "percent_complete": 95,
         "grandparent_rating_key": 500, "grandparent_title": "The Jinx", "parent_media_index": 1,
         "media_index": 1, "rating_key": 501, "year": 2015},
        # A user Tautulli no longer lists (deleted): the play does not describe the household.
        {"row_id": 3, "media_type": "movie", "user_id": 9, "date": two_days_ago, "percent_complete": 100,
         "rating_key": 102, "title": "Paddington", "year": 2014},
        None,  # an odd row: skipped and counted, never a crash
    ]


def test_watch_history_and_inventory_materialize_with_fake_services(tmp_path):
    config = _config(tmp_path)
    items = [{"rating_key": "101", "media_type": "movie", "title": "Zodiac", "year": 2007, "tmdb_id": 1949,
              "imdb_id": None, "tvdb_id": None, "guid": None, "section_id": "1"},
             {"rating_key": "500", "media_type": "tv", "title": "The Jinx", "year": 2015, "tmdb_id": 62643,
              "imdb_id": None, "tvdb_id": None, "guid": None, "section_id": "2"},
             {"rating_key": "700", "media_type": "movie", "title": "Old Agent", "year": 1999, "tmdb_id": None,
              "imdb_id": "tt0000001", "tvdb_id": None, "guid": None, "section_id": "1"}]
    result = materialize(
        [watch_history, plex_inventory],
        resources={"settings": PlexRecsSettings(config_dir=str(config)),
                   "run_record": RunRecord(config_dir=str(config)),
                   "tautulli": FakeTautulliResource(history_json=json.dumps(_rows()),
                                                    users_json=json.dumps([{"user_id": 1}, {"user_id": 2}])),
                   "plex": FakePlexResource(items_json=json.dumps(items))},
        instance=DagsterInstance.ephemeral())
    assert result.success
    history = result.output_for_node("watch_history")
    assert sorted(t.title for t in history.titles.values()) == ["The Jinx", "Zodiac"]
    assert history.skipped["other_user"] == 1 and history.skipped["not_a_row"] == 1
    inventory = result.output_for_node("plex_inventory")
    assert inventory.keys == {("movie", 1949), ("tv", 62643)} and inventory.legacy_without_tmdb == 1
    db = load_app_config(config).paths.db_path
    with sqlite3.connect(db) as conn:
        assert sorted(conn.execute("select media_type, tmdb_id from plex_inventory")) == [("movie", 1949), ("tv", 62643)]
        # The run's bookkeeping: one job_run, finished, since nothing downstream was selected.
        assert conn.execute("select status from job_run").fetchall() == [("success",)]


def test_an_empty_history_fails_watch_history_with_the_reason(tmp_path):
    config = _config(tmp_path)
    result = materialize(
        [watch_history],
        resources={"settings": PlexRecsSettings(config_dir=str(config)),
                   "run_record": RunRecord(config_dir=str(config)),
                   "tautulli": FakeTautulliResource(history_json="[]", users_json='[{"user_id": 1}]')},
        instance=DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "refusing to recommend on an empty history" in failure.step_failure_data.error.message
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        status, error = conn.execute("select status, error_msg from job_run").fetchone()
    assert status == "failed" and "empty history" in error


def _details(tmdb_id, medium, title, year, genres, keywords=()):
    return {"tmdb_id": tmdb_id, "medium": medium, "title": title, "original_title": title, "year": year,
            "genres": list(genres), "keywords": list(keywords), "imdb_id": None, "tvdb_id": None,
            "runtime_min": 100, "vote_count": 100, "vote_average": 7.0, "popularity": 1.0, "overview": "",
            "original_language": "en", "countries": ["US"]}


def test_taste_profile_materializes_from_fake_history_inventory_and_tmdb(tmp_path):
    from plexrecs_assets.defs.shared.fakes import FakeTmdbResource
    from plexrecs_assets.defs.video_recs.household import taste_profile

    config = _config(tmp_path)
    items = [{"rating_key": "101", "media_type": "movie", "title": "Zodiac", "year": 2007, "tmdb_id": 1949,
              "imdb_id": None, "tvdb_id": None, "guid": None, "section_id": "1"}]
    catalog = [_details(1949, "movie", "Zodiac", 2007, ["Crime", "Mystery"], ["serial killer"]),
               _details(62643, "tv", "The Jinx", 2015, ["Documentary", "Crime"], ["true crime"])]
    result = materialize(
        [watch_history, plex_inventory, taste_profile],
        resources={"settings": PlexRecsSettings(config_dir=str(config)),
                   "run_record": RunRecord(config_dir=str(config)),
                   "tautulli": FakeTautulliResource(history_json=json.dumps(_rows()),
                                                    users_json=json.dumps([{"user_id": 1}, {"user_id": 2}])),
                   "plex": FakePlexResource(items_json=json.dumps(items)),
                   "tmdb": FakeTmdbResource(catalog_json=json.dumps(catalog))},
        instance=DagsterInstance.ephemeral())
    assert result.success
    profile = result.output_for_node("taste_profile")
    # Zodiac matched by the inventory's rating key; The Jinx (not in Plex) by a TMDb search.
    assert {(s["medium"], s["tmdb_id"]) for s in profile.seen} == {("movie", 1949), ("tv", 62643)}
    assert "Crime" in profile.top_genres
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        cached = set(conn.execute("select media_type, tmdb_id from tmdb_details_cache"))
        queued = conn.execute("select count(*) from tmdb_fill_queue").fetchone()[0]
    assert cached == {("movie", 1949), ("tv", 62643)} and queued == 0


def test_the_background_fill_asset_fetches_the_queue_and_drops_titles_tmdb_does_not_know(tmp_path):
    from plexrecs_assets.defs.shared.fakes import FakeTmdbResource
    from plexrecs_assets.defs.video_recs.fill import watched_title_details
    from plexrecs_assets.store import fill_queue
    from plexrecs_assets.store.db import init_db

    config = _config(tmp_path)
    engine = init_db(load_app_config(config).paths.db_path)
    fill_queue.enqueue(engine, [("movie", 1949), ("movie", 404404), ("tv", 62643)])
    catalog = [_details(1949, "movie", "Zodiac", 2007, ["Crime"]), _details(62643, "tv", "The Jinx", 2015, ["Crime"])]
    result = materialize([watched_title_details],
                         resources={"settings": PlexRecsSettings(config_dir=str(config)),
                   "run_record": RunRecord(config_dir=str(config)),
                                    "tmdb": FakeTmdbResource(catalog_json=json.dumps(catalog))},
                         instance=DagsterInstance.ephemeral())
    assert result.success
    meta = result.asset_materializations_for_node("watched_title_details")[0].metadata
    assert meta["batch"].value == 3 and meta["fetched"].value == 2 and meta["failed"].value == 0
    assert fill_queue.pending(engine) == 0  # the unknown id is done too: asking again changes nothing
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        assert set(conn.execute("select media_type, tmdb_id from tmdb_details_cache")) == {("movie", 1949), ("tv", 62643)}
        assert conn.execute("select count(*) from job_run").fetchone()[0] == 0  # no recommendation run
