"""The one place that keeps the store's run records (``job_run``, ``category_run``) in step with
Dagster, whatever launched the run: the UI, a backfill, the schedule, ``POST /v1/run`` or
``plexrecs run``.

``RunRecord`` is a resource, so Dagster drives it from the run itself: with the in-process
executor (the code location's only executor) a resource is set up once when the run's process
starts executing and torn down once when it ends, after the last step, also when a step failed.

- Setup takes the run lock, opens the run's ``job_run`` (``running``) and tidies up after a run
  that was killed.
- Steps report each category's outcome through ``start_category`` / ``category_done`` /
  ``category_failed``; they do no other run bookkeeping.
- Teardown finalizes the ``job_run`` from Dagster's outcome: the first failed step or failed
  blocking check of the run (read from the run's event log) fails it, otherwise its
  categories decide (success, partial or failed).

A process killed mid-run never reaches teardown; the next run (and ``plexrecs check``, the API's
health) find its Dagster run orphaned and mark both records failed (``dagster_runs.py``).
"""
from __future__ import annotations

from contextlib import contextmanager

from dagster import ConfigurableResource, DagsterEventType, Failure, InitResourceContext
from pydantic import PrivateAttr

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets import outputs
from plexrecs_assets.config import load_app_config
from plexrecs_assets.dagster_runs import LOCK_TAG, fail_orphaned_runs, owner_tags
from plexrecs_assets.keys import HOUSEHOLD
from plexrecs_assets.run_blocks import range_pairs
from plexrecs_assets.store import runs
from plexrecs_assets.store.db import Engine, init_db

# The message a failed blocking check leaves in its evaluation's metadata (defs/video_recs/checks.py).
CHECK_FAILURE_KEY = "failure"


def run_mode(tags) -> str:
    if "dagster/schedule_name" in tags:
        return "loop"
    return tags.get("plexrecs/mode", "ui")


def run_partition_keys(tags, category_ids: list[str], user_keys: list[str] | None = None) -> list[str] | None:
    """The ``<category id>|<user key>`` pairs a run covers, from Dagster's partition tags
    (None: unpartitioned). ``category_ids`` in partition order, ``user_keys`` the dynamic
    dimension's keys."""
    pairs = range_pairs(tags, category_ids, user_keys or [HOUSEHOLD])
    return None if pairs is None else [f"{c}|{u}" for c, u in pairs]


def _failure_text(event) -> str | None:
    """What a failed step or failed blocking check says, for people."""
    dagster_event = event.dagster_event
    if dagster_event is None:
        return None
    if dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = dagster_event.event_specific_data
        if evaluation.passed:
            return None
        entry = evaluation.metadata.get(CHECK_FAILURE_KEY)
        return getattr(entry, "value", None) or f"asset check failed ({evaluation.check_name})"
    if dagster_event.event_type == DagsterEventType.STEP_FAILURE:
        data = dagster_event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error is not None:
            cause = data.error.cause if data.error.cls_name == "DagsterExecutionStepExecutionError" else None
            error = cause or data.error
            return (error.message or error.cls_name or "step failed").strip()
        return "step failed"
    return None


def first_failure(instance, run_id: str) -> str | None:
    """The first failed step or failed blocking check of the run, in the order they happened."""
    entries = instance.all_logs(run_id, of_type={DagsterEventType.STEP_FAILURE,
                                                 DagsterEventType.ASSET_CHECK_EVALUATION})
    return next((text for text in map(_failure_text, entries) if text), None)


class RunRecord(ConfigurableResource):
    """This run's ``job_run`` and the outcome of its categories (see the module docstring)."""

    config_dir: str
    _engine: Engine | None = PrivateAttr(default=None)
    _job_id: int | None = PrivateAttr(default=None)
    _db_path: str | None = PrivateAttr(default=None)
    _took_lock: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        app = load_app_config(self.config_dir)
        self._db_path = app.paths.db_path
        # `plexrecs run` and the API take the lock before launching; a UI or daemon run's own
        # process takes it here and gives it back at teardown.
        self._took_lock = not runs.holds_run_lock(self._db_path)
        runs.require_run_lock(self._db_path)
        self._engine = init_db(self._db_path)
        run = context.dagster_run
        if run is None:  # built outside a run (e.g. a test's build_init_resource_context)
            return
        if LOCK_TAG not in run.tags:  # launched by the daemon or the UI: say which process runs it
            context.instance.add_run_tags(run.run_id, owner_tags(self._db_path))
        instance = context.instance

        def on_new_job() -> None:
            # A process killed inside an atomic write leaves its temp file; only the run lock
            # holder may remove them, and no write of this run has started yet.
            outputs.clean_stale_temp_files(app.paths.json_out_dir)
            outputs.clean_stale_temp_files(app.paths.pmm_out_dir, outputs.PMM_TEMP_PATTERNS)
            fail_orphaned_runs(instance, self._db_path, current_run_id=run.run_id)

        from plexrecs_assets.defs.video_recs.partitions import USERS_PARTITION_NAME, category_ids

        user_keys = list(instance.get_dynamic_partitions(USERS_PARTITION_NAME))
        self._job_id = runs.job_for_dagster_run(self._engine, run.run_id, mode=run_mode(run.tags),
                                                partition_keys=run_partition_keys(run.tags, category_ids(self.config_dir),
                                                                                  user_keys),
                                                on_new_job=on_new_job)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        try:
            if self._job_id is not None and context.dagster_run is not None:
                runs.finalize_job(self._engine, self._job_id,
                                  error=first_failure(context.instance, context.dagster_run.run_id))
        finally:
            if self._took_lock and self._db_path:
                runs.release_run_lock(self._db_path)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("RunRecord is used outside a run")
        return self._engine

    @property
    def job_id(self) -> int:
        if self._job_id is None:
            raise RuntimeError("RunRecord is used outside a run")
        return self._job_id

    def start_category(self, label: str, category_type: str, *, category_id: str | None = None,
                       user_key: str = HOUSEHOLD) -> int:
        """The pair's row in this run (shared by the steps of the run), marked in progress.
        ``label`` is the pair's keys.store_label."""
        return runs.start_category(self.engine, self.job_id, label, category_type, category_id=category_id,
                                   user_key=user_key)

    def category_file(self, category_run_id: int, **paths: str) -> None:
        """A file the category wrote in this run (the spec's path columns)."""
        runs.update_category(self.engine, category_run_id, **paths)

    def category_done(self, category_run_id: int, **paths: str) -> None:
        runs.update_category(self.engine, category_run_id, **paths, status="success", error_msg=None)

    def category_failed(self, category_run_id: int, message: str) -> None:
        runs.fail_category(self.engine, category_run_id, message)

    def status_so_far(self) -> str:
        """The status the run would end with now (read only; teardown writes it)."""
        return runs.derived_status(self.engine, self.job_id)


@contextmanager
def service_failures():
    """A service that failed becomes a step failure whose message names it (``ServiceError``
    texts are written for people); teardown puts that message on the job."""
    try:
        yield
    except ServiceError as exc:
        raise Failure(description=str(exc)) from None
