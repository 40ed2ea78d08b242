"""The per-category assets (raw_recs, resolved_recs, pmm_collections) and their blocking checks,
materialized with in-memory fake services (defs/shared/fakes.py): no HTTP, a real SQLite file and
an ephemeral Dagster instance. The emulator tests cover the same path over real HTTP.

The catalog rows are real TMDb facts (ids, titles, years, genres, vote counts, popularity)
from ../shared/data/tmdb-movies.csv (TMDb; see tests/fixtures/README.md)."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import yaml
from dagster import DagsterInstance, materialize

from plexrecs_assets import outputs
from plexrecs_assets.config import load_app_config
from plexrecs_assets.defs.shared.fakes import (
    FakeLlmResource, FakeOverseerrResource, FakePlexResource, FakeTautulliResource, FakeTmdbResource)
from plexrecs_assets.defs.people.assets import person_tastes, plex_users
from plexrecs_assets.defs.video_recs.household import plex_inventory, taste_profile, watch_history
from plexrecs_assets.defs.video_recs.assets import build_category_assets
from plexrecs_assets.defs.video_recs.checks import (
    pmm_files_valid, resolved_not_owned, resolved_not_recent, resolved_not_seen, resolved_on_topic)
from plexrecs_assets.defs.video_recs.io import CategoryDocumentIOManager
from plexrecs_assets.defs.video_recs.partitions import category_partitions
from plexrecs_assets.defs.shared.runtime import RunRecord
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.demo import write_demo_config

NOWHERE = {name: "http://127.0.0.1:9" for name in ("TAUTULLI_URL", "PLEX_URL", "LLM_API_BASE", "OVERSEERR_URL")}
NOWHERE["TMDB_API_BASE"] = "http://127.0.0.1:9/3"

# TMDb's movie genre ids for the names used below.
GENRES = {"Action": 28, "Adventure": 12, "Comedy": 35, "Crime": 80, "Drama": 18, "History": 36,
          "Mystery": 9648, "Science Fiction": 878, "Thriller": 53}

MOVIES = [  # tmdb_id, title, year, genres, vote_count, popularity
    (1949, "Zodiac", 2007, "Crime|Drama|Mystery|Thriller", 2023, 51.971),
    (107, "Snatch", 2000, "Thriller|Crime", 2912, 53.596),
    (103, "Taxi Driver", 1976, "Crime|Drama", 2535, 58.845),
    (155, "The Dark Knight", 2008, "Drama|Action|Crime|Thriller", 12002, 187.323),
    (111, "Scarface", 1983, "Action|Crime|Drama|Thriller", 2948, 70.106),
    (161, "Ocean's Eleven", 2001, "Thriller|Crime", 3783, 60.929),
    (24, "Kill Bill: Vol. 1", 2003, "Action|Crime", 4949, 79.755),
    (115, "The Big Lebowski", 1998, "Comedy|Crime", 2926, 49.23),
    (117, "The Untouchables", 1987, "Crime|Drama|History|Thriller", 1384, 38.273),
    (59, "A History of Violence", 2005, "Drama|Thriller|Crime", 832, 34.629),
    (100, "Lock, Stock and Two Smoking Barrels", 1998, "Comedy|Crime", 1648, 16.033),
    (11, "Star Wars", 1977, "Adventure|Action|Science Fiction", 6624, 126.394),
]
CATALOG = [{"tmdb_id": i, "medium": "movie", "title": t, "original_title": t, "year": y, "genres": g.split("|"),
            "keywords": [], "imdb_id": None, "tvdb_id": None, "runtime_min": 110, "vote_count": v,
            "vote_average": 7.5, "popularity": p, "overview": "", "original_language": "en", "countries": ["US"]}
           for i, t, y, g, v, p in MOVIES]
OWNED = [(1949, "Zodiac", 2007, "101"), (103, "Taxi Driver", 1976, "103")]
CATEGORY = {"id": "crime-nights", "label": "Crime Nights", "type": "genre", "media_types": ["movie"],
            "tmdb_filters": {"include_genres": ["Crime"]}}


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    write_demo_config(config, tmp_path / "data", NOWHERE, recs_per_category=3)
    (config / "categories.yml").write_text(yaml.safe_dump({"categories": [CATEGORY]}), encoding="utf-8")
    return config


def _history() -> list[dict]:
    when = int(time.time()) - 3 * 86400
    return [{"row_id": 1, "media_type": "movie", "user_id": 1, "date": when, "percent_complete": 100,
             "rating_key": 101, "title": "Zodiac", "year": 2007},
            # Watched elsewhere, not in Plex: found by a TMDb search, and never recommended.
            {"row_id": 2, "media_type": "movie", "user_id": 1, "date": when, "percent_complete": 100,
             "rating_key": 999, "title": "Snatch", "year": 2000}]


def _resources(config: Path, tmp_path: Path, *, answers: list | None = None) -> dict:
    items = [{"rating_key": key, "media_type": "movie", "title": title, "year": year, "tmdb_id": tmdb_id,
              "imdb_id": None, "tvdb_id": None, "guid": None, "section_id": "1"} for tmdb_id, title, year, key in OWNED]
    return {"settings": PlexRecsSettings(config_dir=str(config)),
            "category_documents": CategoryDocumentIOManager(),
            "run_record": RunRecord(config_dir=str(config)),
            "tautulli": FakeTautulliResource(history_json=json.dumps(_history()), users_json='[{"user_id": 1}]'),
            "plex": FakePlexResource(items_json=json.dumps(items)),
            "tmdb": FakeTmdbResource(catalog_json=json.dumps(CATALOG), genres_json=json.dumps(GENRES)),
            "llm": FakeLlmResource(answers_json=json.dumps(answers or [])),
            "overseerr": FakeOverseerrResource(available_json='["movie:155"]',
                                               log_path=str(tmp_path / "overseerr.jsonl"))}


HOUSEHOLD_PAIR = "crime-nights|household"  # category × user


def _instance() -> DagsterInstance:
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("users", ["household"])
    return instance


def _assets(config: Path) -> list:
    return [watch_history, plex_inventory, taste_profile, plex_users, person_tastes,
            *build_category_assets(category_partitions(config)),
            resolved_not_owned, resolved_not_seen, resolved_not_recent, resolved_on_topic, pmm_files_valid]


def _movie_file(config: Path) -> Path:
    return outputs.pmm_paths(load_app_config(config).paths.pmm_out_dir, "crime-nights")["movie"]


def _resolved(config: Path) -> dict:
    out = Path(load_app_config(config).paths.json_out_dir)
    return json.loads(sorted(out.rglob("*crime-nights*.resolved.json"))[-1].read_text(encoding="utf-8"))


def test_a_category_goes_from_the_llm_answer_to_kometa_files_and_requests_with_fake_services(tmp_path):
    config = _config(tmp_path)
    result = materialize(_assets(config), partition_key=HOUSEHOLD_PAIR, resources=_resources(config, tmp_path),
                         instance=_instance())
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())

    doc = _resolved(config)
    picks = [(i["tmdb_id"], i["source"]) for i in doc["items"]]
    # The fake LLM takes the pool's best three; owned (Taxi Driver, Zodiac), watched (Snatch)
    # and off-topic (Star Wars) titles never reach the pool. The household's top genres are
    # Thriller and Mystery, so diversity (30% outside them) swaps the third for a pool title.
    assert [s for _, s in picks] == ["llm", "llm", "pool_fill"]
    assert doc["diversity"]["swapped"] == 1 and doc["diversity"]["met"]
    ids = {i for i, _ in picks}
    assert len(ids) == 3 and not ids & {1949, 103, 107, 11}
    assert all("Crime" in i["genres"] for i in doc["items"])

    kometa = yaml.safe_load(_movie_file(config).read_text())
    (collection,) = kometa["collections"].values()
    assert set(collection["tmdb_movie"]) == ids

    # Overseerr: up to requests_per_category (2) of the new picks it does not already have.
    requested = [json.loads(line)["key"] for line in (tmp_path / "overseerr.jsonl").read_text().splitlines()]
    assert len(requested) == 2 and "movie:155" not in requested
    assert {int(k.split(":")[1]) for k in requested} <= ids

    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        assert conn.execute("select status from job_run").fetchall() == [("success",)]
        assert conn.execute("select label, status from category_run").fetchall() == [("Crime Nights", "success")]
        assert conn.execute("select prompt_tokens, completion_tokens from llm_usage").fetchall() == [(400, 120)]
        assert sorted(r[0] for r in conn.execute("select tmdb_id from recommendation_history")) == sorted(ids)


def test_off_topic_and_unknown_llm_picks_are_dropped_and_the_gap_is_filled_from_the_pool(tmp_path):
    config = _config(tmp_path)
    answer = {"category": "Crime Nights", "recommendations": [
        {"title": "Star Wars", "year": 1977, "medium": "movie", "why": "", "keywords": [], "tmdb_id": 11},
        {"title": "A Film Nobody Made", "year": 2001, "medium": "movie", "why": "", "keywords": [], "tmdb_id": None},
        {"title": "Scarface", "year": 1983, "medium": "movie", "why": "", "keywords": [], "tmdb_id": 111}]}
    result = materialize(_assets(config), partition_key=HOUSEHOLD_PAIR,
                         resources=_resources(config, tmp_path, answers=[answer]),
                         instance=_instance())
    assert result.success
    doc = _resolved(config)
    assert (111, "llm") in {(i["tmdb_id"], i["source"]) for i in doc["items"]}
    assert len(doc["items"]) == 3 and 11 not in {i["tmdb_id"] for i in doc["items"]}
    reasons = {r["title"]: r["reason"] for r in doc["rejected"]}
    assert set(reasons) >= {"Star Wars", "A Film Nobody Made"}
    assert reasons["Star Wars"] != reasons["A Film Nobody Made"]


def test_when_every_category_fails_the_previous_kometa_files_stay(tmp_path):
    config = _config(tmp_path)
    assert materialize(_assets(config), partition_key=HOUSEHOLD_PAIR, resources=_resources(config, tmp_path),
                       instance=_instance()).success
    movie_file = _movie_file(config)
    before = movie_file.read_text()

    # Six wanted now, so the three kept picks leave a gap the LLM must fill, and it cannot.
    (config / "categories.yml").write_text(yaml.safe_dump({"categories": [{**CATEGORY, "recs": 6}]}), encoding="utf-8")
    not_json = [["not", "an", "object"], ["still", "not"]]  # the answer and its one repair attempt
    result = materialize(_assets(config), partition_key=HOUSEHOLD_PAIR,
                         resources=_resources(config, tmp_path, answers=not_json),
                         instance=_instance(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "every category failed" in failure.step_failure_data.error.message
    assert "invalid after one repair attempt" in failure.step_failure_data.error.message
    assert movie_file.read_text() == before
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        assert [r[0] for r in conn.execute("select status from job_run order by id")] == ["success", "failed"]


def test_resolved_recs_alone_takes_the_latest_raw_recs_of_an_earlier_run(tmp_path):
    """As in the UI: materialize only resolved_recs (and its checks); its input is the raw draft
    the last run stored, not a path looked up in the store."""
    config = _config(tmp_path)
    instance = _instance()
    assert materialize(_assets(config), partition_key=HOUSEHOLD_PAIR, resources=_resources(config, tmp_path),
                       instance=instance).success
    result = materialize(_assets(config), partition_key=HOUSEHOLD_PAIR, resources=_resources(config, tmp_path),
                         instance=instance, selection=["resolved_recs"])
    assert result.success
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        rows = conn.execute("select job_id, status, raw_json_path, resolved_json_path from category_run "
                            "order by id").fetchall()
    (job1, _, raw1, _), (job2, _, raw2, resolved2) = rows
    assert raw2 == raw1 and "000001" in raw1 and resolved2
    assert f"{job2:06d}" in resolved2 and job2 != job1

