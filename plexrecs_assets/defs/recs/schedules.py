"""The asset job and the daily run: one run that covers every category (``app.schedule_cron``)."""
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

from plexrecs_assets.core.run_blocks import partition_tags
from plexrecs_assets.defs.recs.partitions import category_labels

JOB_NAME = "plexrecs_job"


def build_job(partitions_def: PartitionsDefinition):
    return define_asset_job(
        JOB_NAME,
        selection="*",
        partitions_def=partitions_def,
        description="Watch history → inventory → taste → LLM recs → resolved recs → Kometa files, for the "
                    "selected categories.",
    )


def build_daily_schedule(job, cron: str, config_dir: str | Path, timezone: str = "UTC") -> ScheduleDefinition:
    @schedule(job=job, cron_schedule=cron, execution_timezone=timezone,
              description=f"Daily run of every category (app.schedule_cron, in {timezone}).",
              # Loop mode means "run on the schedule": the daemon picks it up without a click in the UI.
              default_status=DefaultScheduleStatus.RUNNING)
    def daily_recommendations(context: ScheduleEvaluationContext):
        labels = category_labels(config_dir)
        stamp = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "manual"
        return RunRequest(run_key=f"daily-{stamp}", tags={**partition_tags(labels), "plexrecs/mode": "loop"})

    return daily_recommendations
