"""Long histories (issue 12): the taste profile fetches what it needs most within its per-run
budget and queues the rest; the background fill job fetches the queue between runs, so the
next daily run finds every watched title described. Real emulators, SQLite and Dagster."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
import yaml
from dagster import DagsterInstance, RunRequest, SkipReason, build_schedule_context

from plexrecs_assets.config import load_app_config
from plexrecs_assets.runner import run_once

pytestmark = pytest.mark.slow

TICK = datetime(2026, 12, 2, 4, 20, tzinfo=timezone.utc)


def _edit_tmdb(config, **values) -> None:
    path = config / "app.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.setdefault("tmdb", {}).update(values)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def _queue(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select media_type, tmdb_id, attempts, last_error from tmdb_fill_queue "
                            "order by priority").fetchall()


def _cached(db, keys) -> set:
    with sqlite3.connect(db) as conn:
        have = set(conn.execute("select media_type, tmdb_id from tmdb_details_cache").fetchall())
    return {k for k in keys if k in have}


def _fill(config):
    from plexrecs_assets.definitions import build_definitions

    defs = build_definitions()
    with DagsterInstance.get() as instance:
        result = defs.resolve_job_def("tmdb_details_fill_job").execute_in_process(instance=instance,
                                                                                  raise_on_error=False)
        schedule = defs.get_schedule_def("tmdb_details_fill")
        with build_schedule_context(instance=instance, scheduled_execution_time=TICK) as ctx:
            tick = schedule.evaluate_tick(ctx)
    return result, tick


def test_deferred_titles_are_fetched_by_the_background_fill_not_by_later_runs(demo_env, demo_suite):
    config = demo_env / "config"
    _edit_tmdb(config, profile_fetch_per_run=20, fill_per_run=1000)
    db = load_app_config(config).paths.db_path

    first = run_once(config, users=["household"])
    assert first.status == "success", first.error
    queued = _queue(db)
    assert len(queued) > 50, len(queued)  # the demo household watched 176 titles
    keys = [(m, i) for m, i, _, _ in queued]
    # Queued titles were not fetched by the taste profile (a few may be, as pool candidates).
    cached_before = _cached(db, keys)
    assert len(cached_before) < len(keys) // 4

    # The schedule only asks for a run when something waits.
    from plexrecs_assets.definitions import build_definitions
    with DagsterInstance.get() as instance, build_schedule_context(instance=instance, scheduled_execution_time=TICK) as ctx:
        tick = build_definitions().get_schedule_def("tmdb_details_fill").evaluate_tick(ctx)
    assert tick.run_requests and isinstance(tick.run_requests[0], RunRequest)

    demo_suite.tmdb.clear_requests()
    result, tick = _fill(config)
    assert result.success
    assert _queue(db) == [] and _cached(db, keys) == set(keys)
    assert not tick.run_requests and tick.skip_message  # nothing left: the next tick skips
    detail_calls = [r for r in demo_suite.tmdb.requests() if r["path"].split("/")[-1].isdigit()]
    assert len(detail_calls) == len(keys) - len(cached_before)  # one request each, none for the cached

    # The next daily run finds every title described: nothing is deferred again.
    second = run_once(config, users=["household"])
    assert second.status == "success", second.error
    assert _queue(db) == []


def test_a_failed_fill_lookup_stays_queued_and_the_run_job_is_untouched(demo_env, demo_suite):
    config = demo_env / "config"
    _edit_tmdb(config, profile_fetch_per_run=20, fill_per_run=3)
    db = load_app_config(config).paths.db_path
    first = run_once(config, users=["household"])
    assert first.status == "success", first.error
    queued = [(m, i) for m, i, _, _ in _queue(db)]
    cached = _cached(db, queued)  # dropped from the queue by the fill, not fetched again
    before = [k for k in queued if k not in cached]
    with sqlite3.connect(db) as conn:
        jobs_before = conn.execute("select id, status from job_run order by id").fetchall()
    demo_suite.tmdb.set_faults(rate_500=1.0)
    try:
        result, _ = _fill(config)
    finally:
        demo_suite.tmdb.set_faults(rate_500=0.0)
    assert result.success  # failed lookups are counted, not fatal
    after = _queue(db)
    assert [(m, i) for m, i, _, _ in after] == before
    assert [a for _, _, a, _ in after[:3]] == [1, 1, 1] and all(a == 0 for _, _, a, _ in after[3:])
    assert all("HTTP 500" in (e or "") or "server" in (e or "") for _, _, a, e in after[:3]), after[:3]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select id, status from job_run order by id").fetchall() == jobs_before
