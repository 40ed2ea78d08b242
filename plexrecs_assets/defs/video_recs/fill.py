"""The background TMDb details fill: watched titles the taste profile deferred, fetched
between the daily runs by a small job of their own, so a long history is described within
hours and the daily run stays short (issue 12, "Long histories")."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    schedule,
)

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.store import caches, fill_queue
from plexrecs_assets.defs.video_recs.household import taste_profile
from plexrecs_assets.defs.shared.resources import TmdbResource
from plexrecs_assets.defs.shared.settings import PlexRecsSettings
from plexrecs_assets.video.tmdb_facts import SKIPPABLE_KINDS, TmdbFacts

FILL_JOB_NAME = "tmdb_details_fill_job"
# Gentler than a run's 35/s: a `plexrecs run` in another container may be using TMDb too.
FILL_MAX_RPS = 20.0


@asset(
    group_name="tmdb_cache",
    kinds={"tmdb", "sqlite"},
    deps=[taste_profile],
    description="TMDb details of the watched titles `taste_profile` deferred (beyond "
                "`tmdb.profile_fetch_per_run`), fetched into the details cache by "
                f"`{FILL_JOB_NAME}` between the daily runs, `tmdb.fill_per_run` at a time.",
)
def watched_title_details(context: AssetExecutionContext, settings: PlexRecsSettings,
                          tmdb: TmdbResource) -> MaterializeResult:
    app = settings.app()
    engine = settings.engine()
    batch = fill_queue.next_batch(engine, app.tmdb.fill_per_run)
    fetched: dict = {}
    failed: dict = {}  # key -> error, for the lookups TMDb failed on (they stay queued)
    if batch:
        with tmdb.client() as client, ThreadPoolExecutor(4) as pool:
            facts_provider = TmdbFacts(client, engine, max_rps=FILL_MAX_RPS)

            def fetch(key):
                try:
                    return key, facts_provider.details(*key), None
                except ServiceError as exc:
                    if exc.kind not in SKIPPABLE_KINDS:  # a rejected key fails the run, as in taste_profile
                        raise Failure(description=str(exc)) from None
                    return key, None, str(exc)

            for key, facts, error in pool.map(fetch, batch):
                if error:
                    failed[key] = error
                elif facts is not None:
                    fetched[key] = facts
        caches.remember_facts(engine, fetched.values())
    for key, error in failed.items():
        fill_queue.mark_failed(engine, [key], error)
    # A title TMDb does not know (404) is done too: asking again would not change the answer.
    fill_queue.mark_done(engine, [k for k in batch if k not in failed])
    left = fill_queue.pending(engine)
    if failed:
        context.log.warning(f"{len(failed)} of {len(batch)} TMDb lookups failed and stay queued "
                            f"(last error: {list(failed.values())[-1]})")
    context.log.info(f"fetched {len(fetched)} of {len(batch)} queued titles; {left} left")
    return MaterializeResult(metadata={"batch": len(batch), "fetched": len(fetched), "failed": len(failed),
                                       "left": left})


fill_job = define_asset_job(FILL_JOB_NAME, selection=[watched_title_details],
                            description="Fetch TMDb details of deferred watched titles (the background fill).")


def build_fill_schedule(cron: str, config_dir: str | Path, timezone: str = "UTC"):
    @schedule(job=fill_job, cron_schedule=cron, execution_timezone=timezone,
              description=f"The background TMDb details fill (tmdb.fill_cron, in {timezone}); "
                          "skips when nothing is queued.",
              default_status=DefaultScheduleStatus.RUNNING)
    def tmdb_details_fill(context: ScheduleEvaluationContext):
        from plexrecs_assets.config import load_app_config
        from plexrecs_assets.store.db import init_db

        app = load_app_config(config_dir)
        queued = fill_queue.pending(init_db(app.paths.db_path))
        if not queued:
            return SkipReason("no watched titles wait for TMDb details")
        stamp = context.scheduled_execution_time.strftime("%Y-%m-%dT%H:%M") if context.scheduled_execution_time \
            else "manual"
        return RunRequest(run_key=f"fill-{stamp}", tags={"plexrecs/mode": "loop"})

    return tmdb_details_fill
