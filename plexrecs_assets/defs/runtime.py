"""Glue shared by the asset modules: the job_run of the current Dagster run, and marking
it failed when a step raises, so the store never shows a dead run as running."""
from __future__ import annotations

from contextlib import contextmanager

from dagster import AssetExecutionContext, AssetKey, Failure

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.core import outputs
from plexrecs_assets.dagster_runs import LOCK_TAG, fail_orphaned_runs, owner_tags
from plexrecs_assets.defs.settings import PlexRecsSettings
from plexrecs_assets.store import runs


# Assets with their own job that do not take part in a job_run (defs/history/fill.py).
BACKGROUND_ASSETS = {AssetKey("watched_title_details")}


def run_mode(context: AssetExecutionContext) -> str:
    tags = context.run.tags
    if "dagster/schedule_name" in tags:
        return "loop"
    return tags.get("plexrecs/mode", "ui")


def partition_keys(context: AssetExecutionContext) -> list[str] | None:
    try:
        return list(context.partition_keys)
    except Exception:  # unpartitioned step
        return None


def _remove_stale_temp_files(app) -> None:
    # A process killed inside an atomic write leaves its temp file; only the run lock holder
    # may remove them, and no write of this run has started yet.
    outputs.clean_stale_temp_files(app.paths.json_out_dir)
    outputs.clean_stale_temp_files(app.paths.pmm_out_dir, outputs.PMM_TEMP_PATTERNS)


def is_last_asset_of_run(context: AssetExecutionContext) -> bool:
    """True when no asset downstream of this one is part of the run (e.g. a UI run of only
    the household assets, or a backfill's separate run for unpartitioned assets), so the
    run's job_run must be finalized here rather than by pmm_collections."""
    selected = context.run.asset_selection
    graph = context.job_def.asset_layer.asset_graph
    # The background fill is no part of a recommendation run: it never finalizes one.
    children = set(graph.get(context.asset_key).child_keys) - BACKGROUND_ASSETS
    if not selected:  # None, or empty for a whole-job run (execute_in_process, schedules)
        selected = graph.get_all_asset_keys()
    return not (set(children) & set(selected))


@contextmanager
def job_scope(context: AssetExecutionContext, settings: PlexRecsSettings):
    """Yield (engine, job_id); a failure inside marks the job failed with the message."""
    app = settings.app()
    runs.require_run_lock(app.paths.db_path)
    engine = settings.engine()
    keys = partition_keys(context)
    if LOCK_TAG not in context.run.tags:  # launched by the daemon or the UI: say which process runs it
        context.instance.add_run_tags(context.run_id, owner_tags(app.paths.db_path))

    def on_new_job() -> None:
        _remove_stale_temp_files(app)
        fail_orphaned_runs(context.instance, app.paths.db_path, current_run_id=context.run_id)

    job_id = runs.job_for_dagster_run(engine, context.run_id, mode=run_mode(context), partition_keys=keys,
                                      on_new_job=on_new_job)
    try:
        yield engine, job_id
        if is_last_asset_of_run(context):
            runs.finalize_job(engine, job_id)
    except ServiceError as exc:
        runs.finalize_job(engine, job_id, error=str(exc))
        raise Failure(description=str(exc)) from None
    except Failure as exc:  # already a message for people (e.g. "tautulli: no usable plays ...")
        runs.finalize_job(engine, job_id, error=exc.description or str(exc))
        raise
    except Exception as exc:
        runs.finalize_job(engine, job_id, error=f"{type(exc).__name__}: {exc}")
        raise
