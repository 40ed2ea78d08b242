"""TMDb failing for a few lookups only: the run skips and counts what it could not fetch.

Each test starts from the warm cache (every lookup a run on the demo world makes is cached),
removes exactly one cached answer, and makes TMDb answer HTTP 500 to everything: so exactly
that one lookup fails, whatever the order the threads make their requests in.
"""
from __future__ import annotations

import json

import pytest

from reliability_helpers import CACHE_TABLES

pytestmark = pytest.mark.slow


def test_warm_cache_run_needs_no_tmdb(make_workspace, suite):
    ws = make_workspace(suite)
    suite.tmdb.set_faults(rate_500=1.0)
    summary = ws.run()
    assert summary.status == "success", summary.error
    assert suite.tmdb.requests() == []


def _tmdb_requests(suite) -> list[dict]:
    return [r for r in suite.tmdb.requests() if not r["path"].startswith("/__emulator")]


def test_one_failed_detail_lookup_for_a_watched_title_is_skipped_and_counted(make_workspace, suite):
    ws = make_workspace(suite)
    # A watched title (taste_profile records each one it enriched in title_resolution_cache).
    watched = ws.sql("select r.media_type, r.tmdb_id from title_resolution_cache r join tmdb_details_cache d "
                     "on d.tmdb_id = r.tmdb_id and d.media_type = r.media_type order by r.tmdb_id limit 1")[0]
    ws.sql_write("delete from tmdb_details_cache where media_type = ? and tmdb_id = ?",
                 watched["media_type"], watched["tmdb_id"])
    suite.tmdb.set_faults(rate_500=1.0)
    summary = ws.run()
    assert summary.status == "success", summary.error
    assert all(c.status == "success" and c.published == 5 for c in summary.categories)
    failed = {r["path"] for r in _tmdb_requests(suite)}
    assert failed == {f"/3/{watched['media_type']}/{watched['tmdb_id']}"}, failed
    metadata = _latest_metadata("taste_profile")
    assert metadata["tmdb_failed_lookups"] == 1 and metadata["tmdb_lookups"] >= 1


def test_too_many_failed_lookups_fail_the_taste_profile_naming_the_number(make_workspace, suite):
    ws = make_workspace(suite)
    ws.sql_write("delete from tmdb_details_cache")
    ws.edit_app(tmdb={"max_missing_share": 0.5})
    suite.tmdb.set_faults(rate_500=1.0)
    summary = ws.run()
    assert summary.status == "failed"
    assert summary.error.startswith("tmdb: "), summary.error
    assert "TMDb lookups for the taste profile failed" in summary.error
    assert "tmdb.max_missing_share=0.5" in summary.error
    failed, total = (int(n) for n in summary.error.split()[1:4:2])
    assert failed == total > 1


def test_one_failed_search_drops_one_pick_not_the_category(make_workspace, suite):
    ws = make_workspace(suite)
    # The LLM's mistakes (seeded per category, so the same each run) are verified by searching
    # TMDb; a first run caches those searches, then the store forgets everything but the caches.
    suite.llm.set_options(mistake_rate=0.4)
    assert ws.run().status == "success"
    tables = [r["name"] for r in ws.sql("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
    for table in tables:
        if table not in CACHE_TABLES and table != "alembic_version":
            ws.sql_write(f'delete from "{table}"')
    searches = ws.sql("select cache_key from tmdb_list_cache where cache_key like '[\"search\"%' order by cache_key")
    assert searches, "no pick needed a search: the test would not exercise one"
    ws.sql_write("delete from tmdb_list_cache where cache_key = ?", searches[0]["cache_key"])
    suite.tmdb.clear_requests()
    suite.tmdb.set_faults(rate_500=1.0)
    summary = ws.run()
    assert summary.status == "success", summary.error
    assert all(c.status == "success" and c.published == 5 for c in summary.categories)
    assert {r["path"] for r in _tmdb_requests(suite)} == {f"/3/search/{json.loads(searches[0]['cache_key'])[1]}"}
    unavailable = {c.label: c.dropped.get("tmdb_unavailable", 0) for c in summary.categories}
    assert sum(unavailable.values()) >= 1, unavailable
    for c in summary.categories:
        doc = json.loads(open(next(f for f in c.files if f.endswith(".resolved.json")), encoding="utf-8").read())
        assert doc["tmdb"]["failed"] == unavailable[c.label]


def _latest_metadata(asset: str) -> dict:
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(AssetKey(asset))
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_tmdb_failing_a_quarter_of_requests_on_a_cold_cache_still_publishes(make_workspace, suite):
    ws = make_workspace(suite, warm=False)
    suite.tmdb.set_faults(rate_500=0.25, seed=12)
    summary = ws.run()
    assert summary.status == "success", summary.error
    assert all(c.status == "success" and c.published == 5 for c in summary.categories)
    assert 500 in {r["status"] for r in _tmdb_requests(suite)}, "the faults never fired"
