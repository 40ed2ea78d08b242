"""TMDb caching behind the performance targets (issue 8): list pages survive across runs in
SQLite, details are read from the cache in bulk, and an anchor TMDb no longer knows adds
nothing to a pool instead of failing its category. Real HTTP to the TMDb emulator."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from plexrecs_assets.clients.tmdb import TmdbClient
from plexrecs_assets.store.db import init_db
from plexrecs_assets.store.schema import tmdb_list_cache
from plexrecs_emulators.suite import EmulatorSuite
from plexrecs_assets.video.pool import _unless_not_found
from plexrecs_assets.video.tmdb_facts import TmdbFacts

UNKNOWN_ID = 987_654_321  # not in the demo catalog


@pytest.fixture(scope="module")
def suite():
    with EmulatorSuite() as s:
        yield s


@pytest.fixture()
def engine(tmp_path):
    return init_db(tmp_path / "plexrecs.sqlite")


def facts_for(suite, engine) -> TmdbFacts:
    client = TmdbClient(suite.tmdb.url, api_key=suite.keys["tmdb"])
    return TmdbFacts(client, engine, max_rps=1000)


def tmdb_paths(suite) -> list[str]:
    return [r["path"] for r in suite.tmdb.requests()]


def test_list_pages_are_reused_by_a_later_run(suite, engine):
    first = facts_for(suite, engine)
    found = first.search("Severance", None, "tv")
    recs = first.recommendations("tv", found[0].tmdb_id)
    genres = first.genre_ids("movie")
    assert found and recs and "Documentary" in genres

    suite.tmdb.clear_requests()
    second = facts_for(suite, engine)  # a new run: empty memo, same database
    assert second.search("Severance", None, "tv") == found
    assert second.recommendations("tv", found[0].tmdb_id) == recs
    assert second.genre_ids("movie") == genres
    assert tmdb_paths(suite) == []
    assert second.requests == 0


def test_stale_list_pages_are_fetched_again(suite, engine):
    facts_for(suite, engine).search("Severance", None, "tv")
    with engine.begin() as conn:
        conn.execute(update(tmdb_list_cache).values(fetched_at="2000-01-01T00:00:00Z"))
    suite.tmdb.clear_requests()
    again = facts_for(suite, engine)
    assert again.search("Severance", None, "tv")
    assert [p for p in tmdb_paths(suite) if p.endswith("/search/tv")] == ["/3/search/tv"]


def test_cached_many_reads_details_without_requests(suite, engine):
    first = facts_for(suite, engine)
    tv_id = first.search("Severance", None, "tv")[0].tmdb_id
    assert first.details("tv", tv_id) is not None

    suite.tmdb.clear_requests()
    second = facts_for(suite, engine)
    cached = second.cached_many([("tv", tv_id), ("movie", tv_id), ("tv", UNKNOWN_ID)])
    assert list(cached) == [("tv", tv_id)]  # same id as a movie is a different title
    assert cached[("tv", tv_id)].title == "Severance"
    assert second.details("tv", tv_id) == cached[("tv", tv_id)]  # served from the run memo
    assert tmdb_paths(suite) == []


def test_an_anchor_tmdb_does_not_know_adds_nothing(suite, engine):
    facts = facts_for(suite, engine)
    assert _unless_not_found(("recs", lambda: facts.recommendations("movie", UNKNOWN_ID))) == []
    suite.tmdb.set_faults(bad_credentials=True)
    try:
        with pytest.raises(Exception) as failure:  # other errors still fail the category
            _unless_not_found(("recs", lambda: facts_for(suite, engine).similar("movie", UNKNOWN_ID)))
        assert getattr(failure.value, "kind", None) == "auth"
    finally:
        suite.tmdb.set_faults(bad_credentials=False)
