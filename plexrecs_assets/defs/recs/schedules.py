"""The daily run: one run that covers every category (``app.schedule_cron``)."""
from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, define_asset_job, schedule

from plexrecs_assets.core.config import config_dir_from_env, load_app_config
from plexrecs_assets.core.run_blocks import partition_tags
from plexrecs_assets.defs.recs.partitions import category_labels, category_partitions

plexrecs_job = define_asset_job(
    "plexrecs_job",
    selection="*",
    partitions_def=category_partitions,
    description="Watch history → inventory → taste → LLM recs → resolved recs → Kometa files, for the selected categories.",
)


@schedule(job=plexrecs_job, cron_schedule=load_app_config(config_dir_from_env()).app.schedule_cron,
          description="Daily run of every category (app.schedule_cron).",
          # Loop mode means "run on the schedule": the daemon picks it up without a click in the UI.
          default_status=DefaultScheduleStatus.RUNNING)
def daily_recommendations(context: ScheduleEvaluationContext):
    labels = category_labels()
    stamp = context.scheduled_execution_time.strftime("%Y-%m-%d") if context.scheduled_execution_time else "manual"
    return RunRequest(run_key=f"daily-{stamp}", tags={**partition_tags(labels), "plexrecs/mode": "loop"})
