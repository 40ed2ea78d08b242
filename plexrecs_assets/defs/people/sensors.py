"""Keeps the ``user`` partition dimension in step with Tautulli's users."""

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.config import AppConfig, load_app_config
from plexrecs_assets.defs.shared.resources import TautulliResource
from plexrecs_assets.defs.video_recs.partitions import USERS_PARTITION_NAME, user_partitions
from plexrecs_assets.keys import HOUSEHOLD
from plexrecs_assets.people.users import UserSelection, select_people
from plexrecs_assets.store import users as users_store
from plexrecs_assets.store.db import init_db

SENSOR_INTERVAL_S = 300


def current_people(client, app: AppConfig) -> UserSelection:
    """Tautulli's users as ``plex_users`` would select them now (stored keys are reused, so a
    new person gets the key their first run will store)."""
    engine = init_db(app.paths.db_path)
    return select_people(client.get_users(), include=list(app.users.include), exclude=list(app.users.exclude),
                         known=users_store.known_keys(engine))


def build_user_partitions_sensor(config_dir: str):
    @sensor(name="user_partitions_sensor", minimum_interval_seconds=SENSOR_INTERVAL_S,
            default_status=DefaultSensorStatus.RUNNING,
            description="Adds `household` and each new person's `user_key` (Tautulli's users, filtered by "
                        "app.yml `users:`) to the `user` partition dimension. Keys of people who left stay, "
                        "so their history stays browsable.")
    def user_partitions_sensor(context: SensorEvaluationContext, tautulli: TautulliResource):
        app = load_app_config(config_dir)
        try:
            with tautulli.client() as client:
                selection = current_people(client, app)
        except ServiceError as exc:
            return SkipReason(f"tautulli: {exc}")
        have = set(context.instance.get_dynamic_partitions(USERS_PARTITION_NAME))
        wanted = [HOUSEHOLD] + [p.user_key for p in selection.people]
        new = [k for k in dict.fromkeys(wanted) if k not in have]
        if not new:
            return SkipReason(f"{len(wanted) - 1} users, none new")
        return SensorResult(dynamic_partitions_requests=[user_partitions.build_add_request(new)])

    return user_partitions_sensor
