"""The PlexRecs Dagster code location.

Configuration comes from ``$PLEXRECS_CONFIG_DIR`` (``/config`` by default): categories.yml
defines the partitions, app.yml the service URLs and the schedule. Secrets come from the
environment through ``EnvVar`` and never appear in run config.
"""
from dagster import Definitions, EnvVar, in_process_executor

from plexrecs_assets.config import config_dir_from_env, load_app_config, schedule_timezone
from plexrecs_assets.defs.video_recs.household import plex_inventory, taste_profile, watch_history
from plexrecs_assets.defs.video_recs.fill import build_fill_schedule, fill_job, watched_title_details
from plexrecs_assets.defs.video_recs.assets import IO_MANAGER_KEY, build_category_assets
from plexrecs_assets.defs.video_recs.io import CategoryDocumentIOManager
from plexrecs_assets.defs.video_recs.checks import (
    pmm_files_valid, resolved_not_owned, resolved_not_recent, resolved_not_seen, resolved_on_topic)
from plexrecs_assets.defs.video_recs.partitions import category_partitions
from plexrecs_assets.defs.people.assets import person_tastes, plex_users
from plexrecs_assets.defs.people.sensors import build_user_partitions_sensor
from plexrecs_assets.defs.video_recs.schedules import build_daily_schedule, build_job
from plexrecs_assets.defs.shared.runtime import RunRecord
from plexrecs_assets.defs.shared.resources import LlmResource, OverseerrResource, PlexResource, TautulliResource, TmdbResource
from plexrecs_assets.defs.shared.settings import PlexRecsSettings


def build_definitions() -> Definitions:
    config_dir = config_dir_from_env()
    app = load_app_config(config_dir)
    partitions = category_partitions(config_dir)
    job = build_job(partitions)
    schedules = [build_daily_schedule(job, app.app.schedule_cron, config_dir, schedule_timezone(app))]
    tautulli = TautulliResource(base_url=app.tautulli.url, api_key=EnvVar("TAUTULLI_API_KEY"))
    if app.tmdb.background_fill:
        schedules.append(build_fill_schedule(app.tmdb.fill_cron, config_dir, schedule_timezone(app)))
    return Definitions(
        assets=[watch_history, plex_inventory, taste_profile, plex_users, person_tastes, watched_title_details,
                *build_category_assets(partitions)],
        asset_checks=[resolved_not_owned, resolved_not_seen, resolved_not_recent, resolved_on_topic, pmm_files_valid],
        jobs=[job, fill_job],
        schedules=schedules,
        sensors=[build_user_partitions_sensor(str(config_dir))],
        executor=in_process_executor,
        resources={
            "settings": PlexRecsSettings(config_dir=str(config_dir)),
            IO_MANAGER_KEY: CategoryDocumentIOManager(),
            # The run's job_run, kept from Dagster's own run and step outcome (defs/shared/runtime.py).
            "run_record": RunRecord(config_dir=str(config_dir)),
            "tautulli": tautulli,
            "plex": PlexResource(base_url=app.plex.url, token=EnvVar("PLEX_TOKEN")),
            "tmdb": TmdbResource(base_url=app.tmdb.url, api_key=EnvVar("TMDB_API_KEY"), language=app.tmdb.language),
            "llm": LlmResource(base_url=app.recommender.api_base, api_key=EnvVar("LLM_API_KEY"),
                               model=app.recommender.model, timeout_s=app.recommender.timeout_s,
                               temperature=app.recommender.temperature,
                               max_output_tokens=app.recommender.max_output_tokens),
            "overseerr": OverseerrResource(base_url=app.overseerr.url,
                                           api_key=EnvVar("OVERSEERR_API_KEY") if app.overseerr.enabled else ""),
        },
    )


defs = build_definitions()
