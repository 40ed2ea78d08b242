"""The asset job and the daily run of every pair (``app.schedule_cron``): one run for the
household's categories, one per block of per-person categories × every person."""
from pathlib import Path

from dagster import (
    DefaultScheduleStatus,
    PartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from plexrecs_assets.config import load_categories
from plexrecs_assets.run_blocks import PairBlock, pair_blocks
from plexrecs_assets.defs.video_recs.partitions import USERS_PARTITION_NAME, category_ids, ensure_user_partitions

JOB_NAME = "plexrecs_job"


def build_job(partitions_def: PartitionsDefinition):
    from dagster import AssetSelection

    from plexrecs_assets.defs.video_recs.fill import watched_title_details

    # Everything but the background fill, which has its own job and schedule.
    return define_asset_job(
        JOB_NAME,
        selection=AssetSelection.all() - AssetSelection.assets(watched_title_details),
        partitions_def=partitions_def,
        description="Watch history → inventory → taste → LLM recs → resolved recs → Kometa files, for the "
                    "selected categories.",
    )


def build_daily_schedule(job, cron: str, config_dir: str | Path, timezone: str = "UTC") -> ScheduleDefinition:
    @schedule(job=job, cron_schedule=cron, execution_timezone=timezone,
              description=f"Daily run of every category for the household and for each person "
                          f"(app.schedule_cron, in {timezone}).",
              # Loop mode means "run on the schedule": the daemon picks it up without a click in the UI.
              default_status=DefaultScheduleStatus.RUNNING)
    def daily_recommendations(context: ScheduleEvaluationContext):
        _recover_orphans(context, config_dir)
        ensure_user_partitions(context.instance, [])  # household, even before the sensor's first tick
        users = list(context.instance.get_dynamic_partitions(USERS_PARTITION_NAME))
        stamp = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "manual"
        return [RunRequest(run_key=f"daily-{stamp}" + (f"-{n}" if n else ""), tags={**block.tags(), "plexrecs/mode": "loop"})
                for n, block in enumerate(daily_blocks(config_dir, users))]

    return daily_recommendations


def daily_blocks(config_dir: str | Path, users: list[str]) -> list[PairBlock]:
    """Every pair of every category, as few runs as the partition ranges allow."""
    order = category_ids(config_dir)
    audiences = {c.id: c.audience for c in load_categories(config_dir)}
    return pair_blocks(order, audiences, order, users)


def _recover_orphans(context: ScheduleEvaluationContext, config_dir: str | Path) -> None:
    """A oneshot run killed in another container (sharing DAGSTER_HOME) would leave its run
    STARTED and hold today's run in the queue forever: fail such runs first."""
    try:
        from plexrecs_assets.config import load_app_config
        from plexrecs_assets.dagster_runs import recover_if_idle

        failed = recover_if_idle(load_app_config(config_dir).paths.db_path, context.instance)
        if failed:
            context.log.warning(f"marked orphaned run(s) {', '.join(failed)} failed: their process is gone")
    except Exception as exc:  # never stop the daily run over this
        context.log.warning(f"could not check for orphaned runs: {type(exc).__name__}: {exc}")
