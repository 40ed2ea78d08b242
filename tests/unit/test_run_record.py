"""RunRecord (defs/shared/runtime.py): the run's job_run is opened when the run starts and finalized
from Dagster's own outcome when it ends, whatever the assets do. Toy assets on a real SQLite
file and an ephemeral Dagster instance."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckResult, DagsterInstance, Failure, asset, asset_check, materialize

from plexrecs_assets.config import load_app_config
from plexrecs_assets.defs.shared.runtime import CHECK_FAILURE_KEY, RunRecord, run_partition_keys
from plexrecs_assets.demo import write_demo_config
from plexrecs_assets.store import runs

NOWHERE = {name: "http://127.0.0.1:9" for name in ("TAUTULLI_URL", "PLEX_URL", "LLM_API_BASE", "OVERSEERR_URL")}
NOWHERE["TMDB_API_BASE"] = "http://127.0.0.1:9/3"


@pytest.fixture
def config(tmp_path):
    write_demo_config(tmp_path / "config", tmp_path / "data", NOWHERE)
    return tmp_path / "config"


def _jobs(config) -> list[tuple]:
    db = Path(load_app_config(config).paths.db_path)
    if not db.exists():  # no run opened a job: the store was never created
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("select status, error_msg, finished_at is not null from job_run order by id").fetchall()


def _materialize(config, assets, **kw):
    return materialize(assets, resources={"run_record": RunRecord(config_dir=str(config))},
                       instance=DagsterInstance.ephemeral(), raise_on_error=False, **kw)


def test_the_job_is_running_during_the_run_and_finalized_after_its_last_step(config):
    seen_during = []

    @asset
    def first(run_record: RunRecord) -> int:
        seen_during.append(_jobs(config))
        cat = run_record.start_category("Wait... What?", "genre")
        run_record.category_done(cat)
        return 1

    @asset
    def second(first: int) -> int:  # needs no run_record: the run is still recorded once
        return first + 1

    assert _materialize(config, [first, second]).success
    assert seen_during == [[("running", None, 0)]]
    assert _jobs(config) == [("success", None, 1)]


def test_a_failed_step_fails_the_job_with_its_message_and_unfinished_categories_say_why(config):
    @asset
    def steps(run_record: RunRecord) -> int:
        run_record.start_category("Cozy", "keyword")  # left in progress
        raise Failure(description="tautulli: unreachable at http://127.0.0.1:9")

    assert not _materialize(config, [steps]).success
    assert _jobs(config) == [("failed", "tautulli: unreachable at http://127.0.0.1:9", 1)]
    with sqlite3.connect(load_app_config(config).paths.db_path) as conn:
        assert conn.execute("select status, error_msg from category_run").fetchall() == [
            ("failed", "not finished: tautulli: unreachable at http://127.0.0.1:9")]


def test_an_unexpected_exception_is_named_on_the_job(config):
    @asset
    def broken(run_record: RunRecord) -> int:
        raise ValueError("bad shape")

    assert not _materialize(config, [broken]).success
    ((status, error, finished),) = _jobs(config)
    assert (status, finished) == ("failed", 1) and error.startswith("ValueError: bad shape")


def test_a_failed_blocking_check_fails_the_job_with_the_checks_message_and_stops_downstream(config):
    published = []

    @asset
    def picks(run_record: RunRecord) -> int:
        run_record.category_done(run_record.start_category("True Crime", "genre"))
        return 1

    @asset_check(asset=picks, blocking=True)
    def picks_not_owned() -> AssetCheckResult:
        return AssetCheckResult(passed=False, metadata={CHECK_FAILURE_KEY: "asset check failed (owned): Zodiac"})

    @asset
    def files(picks: int) -> None:
        published.append(picks)

    assert not _materialize(config, [picks, picks_not_owned, files]).success
    assert published == []
    assert _jobs(config) == [("failed", "asset check failed (owned): Zodiac", 1)]


def test_some_failed_categories_make_a_partial_job(config):
    @asset
    def cats(run_record: RunRecord) -> None:
        run_record.category_done(run_record.start_category("A|B, [C]", "genre"))
        run_record.category_failed(run_record.start_category("Cozy", "keyword"), "short: nothing to publish")
        assert run_record.status_so_far() == "partial"  # read only: the job is still running

    assert _materialize(config, [cats]).success
    assert _jobs(config) == [("partial", "1 of 2 categories failed", 1)]


def test_a_run_that_needs_no_run_record_leaves_no_job(config):
    @asset
    def background() -> int:
        return 1

    assert _materialize(config, [background]).success
    assert _jobs(config) == []


def test_the_run_lock_held_elsewhere_refuses_the_run_before_any_job_is_opened(config):
    @asset
    def anything(run_record: RunRecord) -> int:
        return 1

    db = load_app_config(config).paths.db_path
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from plexrecs_assets.store import runs; "
        f"assert runs.acquire_run_lock({db!r}); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _materialize(config, [anything])
        assert not result.success
        assert "another PlexRecs run is in progress" in str(result.all_events)
    finally:
        holder.kill()
        holder.wait()
    assert _jobs(config) == []
    assert not runs.holds_run_lock(db)


def test_a_run_gives_back_the_lock_it_took_and_keeps_one_its_launcher_holds(config):
    @asset
    def anything(run_record: RunRecord) -> int:
        return 1

    db = load_app_config(config).paths.db_path
    assert _materialize(config, [anything]).success
    assert not runs.holds_run_lock(db)
    runs.require_run_lock(db)  # as `plexrecs run` does before launching
    try:
        assert _materialize(config, [anything]).success
        assert runs.holds_run_lock(db)
    finally:
        runs.release_run_lock(db)


@pytest.mark.parametrize("tags, expected", [
    ({"dagster/partition": "cozy|household"}, ["cozy|household"]),
    ({"dagster/partition": "cozy"}, ["cozy|household"]),  # a bare category id is the household's
    ({"dagster/asset_partition_range_start": "b|household", "dagster/asset_partition_range_end": "c|household"},
     ["b|household", "c|household"]),
    # A rectangle of categories × people.
    ({"dagster/asset_partition_range_start": "c|dana", "dagster/asset_partition_range_end": "d|sam"},
     ["c|dana", "c|sam", "d|dana", "d|sam"]),
    ({"dagster/asset_partition_range_start": "gone|household", "dagster/asset_partition_range_end": "c|household"},
     None),
    ({}, None),
])
def test_the_pairs_of_a_run_come_from_its_partition_tags(tags, expected):
    assert run_partition_keys(tags, ["a", "b", "c", "d"], ["household", "dana", "sam"]) == expected
