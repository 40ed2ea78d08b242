"""Run the graph once, in this process, against the persistent Dagster instance.

Used by ``plexrecs run`` (and tests): the run is recorded in ``$DAGSTER_HOME`` so it shows
in the Dagster UI, and in the PlexRecs store (job_run / category_run).
"""
from __future__ import annotations

import os
from pathlib import Path

from plexrecs_assets.config import load_app_config, load_categories
from plexrecs_assets.documents import CategorySummary, RunSummary  # noqa: F401  (callers import them here)
from plexrecs_assets.store import runs
from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.progress import StepWatcher, noop

# Dagster's console logger prints a step failure with its whole stack trace (80 lines for a
# wrong API key); the summary says what failed, and warnings are collected from the event log.
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
DEFAULT_DAGSTER_YAML = """\
# Written by PlexRecs because DAGSTER_HOME had no dagster.yaml (see the repository's dagster.yaml).
storage:
  sqlite:
    base_dir: {base}
concurrency:
  runs:
    max_concurrent_runs: 1
run_queue:
  dequeue_interval_seconds: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  cancel_timeout_seconds: 300
  max_runtime_seconds: 14400
  poll_interval_seconds: 60
telemetry:
  enabled: false
"""


class UnknownCategoryError(ValueError):
    pass


class MissingSecretsError(ValueError):
    pass


def required_secrets(app) -> list[str]:
    names = ["TAUTULLI_API_KEY", "PLEX_TOKEN", "TMDB_API_KEY", "LLM_API_KEY"]
    if app.overseerr.enabled:
        names.append("OVERSEERR_API_KEY")
    return names


def check_secrets(app) -> None:
    missing = [n for n in required_secrets(app) if not os.environ.get(n)]
    if missing:
        raise MissingSecretsError(
            f"missing environment variable(s) {', '.join(missing)}: secrets come only from the environment "
            "(for a local LLM without a key, set LLM_API_KEY to any text, e.g. 'ollama')")


def ensure_dagster_home(db_path: str) -> Path:
    """Use $DAGSTER_HOME, or a folder next to the database, with a dagster.yaml in it."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path(db_path).resolve().parent / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DEFAULT_DAGSTER_YAML.format(base=home / "storage"), encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def select_categories(config_dir: Path, wanted: list[str] | None) -> tuple[list[str], list[str]]:
    """(selected category ids, every id), both in categories.yml order. ``wanted`` holds
    labels (as ``plexrecs run --category`` takes them) or ids."""
    configured = load_categories(config_dir)
    ids = [c.id for c in configured]
    if not wanted:
        return ids, ids
    by_name = {**{c.id: c.id for c in configured}, **{c.label: c.id for c in configured}}  # a label wins, as in the API
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise UnknownCategoryError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {unknown!r}; configured in "
            f"{Path(config_dir) / 'categories.yml'}: {[c.label for c in configured]!r}")
    chosen = {by_name[w] for w in wanted}
    return [i for i in ids if i in chosen], ids


def _failure_message(result) -> str | None:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            return event.step_failure_data.error.message.strip().splitlines()[0][:500]
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            evaluation = getattr(data, "evaluation", data)
            if getattr(evaluation, "passed", True) is False:
                return f"asset check {evaluation.check_name} failed"
    return None


def parse_as_of(text: str | None) -> str | None:
    """``--as-of``: a calendar day, YYYY-MM-DD; a clear error otherwise."""
    if text is None:
        return None
    import datetime as _dt
    try:
        return _dt.date.fromisoformat(text.strip()).isoformat() if len(text.strip()) == 10 else _bad_as_of(text)
    except ValueError:
        return _bad_as_of(text)


def _bad_as_of(text: str):
    raise ValueError(f"--as-of: {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-12-02")


def _step_warnings(instance, run_id: str) -> list[str]:
    """The warnings the steps logged (e.g. legacy-agent items), first line of each."""
    import logging

    found = []
    for entry in instance.all_logs(run_id):
        if entry.level == logging.WARNING and not entry.is_dagster_event and entry.user_message:
            step = f"{entry.step_key}: " if entry.step_key else ""
            found.append(step + entry.user_message.strip().splitlines()[0][:500])
    return found


class UnknownUserError(ValueError):
    pass


def _people_keys(app, wanted: list[str] | None) -> list[str]:
    """The people's keys as Tautulli lists them now (``users.include/exclude`` applied); with
    ``wanted`` (keys or usernames, ``household`` allowed) only those, or a clear error."""
    from plexrecs_assets.clients.tautulli import TautulliClient
    from plexrecs_assets.defs.people.sensors import current_people

    with TautulliClient(app.tautulli.url, os.environ["TAUTULLI_API_KEY"]) as client:
        people = current_people(client, app).people
    keys = [p.user_key for p in people]
    if not wanted:
        return keys
    by_name = {**{p.username.lower(): p.user_key for p in people}, **{k: k for k in keys}, "household": "household"}
    unknown = [w for w in wanted if w.lower() not in by_name and w not in by_name]
    if unknown:
        raise UnknownUserError(f"unknown user(s) {unknown!r}; users now: {['household'] + keys!r} "
                               "(see `plexrecs users`; app.yml users.include/exclude filter them)")
    return [by_name.get(w, by_name.get(w.lower())) for w in wanted]


def run_once(config_dir: str | Path, *, categories: list[str] | None = None, mode: str = "oneshot",
             on_step=None, as_of: str | None = None, users: list[str] | None = None) -> RunSummary:
    """Materialize the whole graph for ``categories`` (all by default) and ``users`` (the
    household and every person by default) and summarize it."""
    from dagster import DagsterInstance

    config_dir = Path(config_dir).resolve()
    os.environ["PLEXRECS_CONFIG_DIR"] = str(config_dir)
    app = load_app_config(config_dir)
    selected, all_ids = select_categories(config_dir, categories)
    check_secrets(app)
    runs.require_run_lock(app.paths.db_path)
    try:
        ensure_dagster_home(app.paths.db_path)
        from plexrecs_assets.dagster_runs import fail_orphaned_runs, owner_tags
        from plexrecs_assets.definitions import build_definitions
        from plexrecs_assets.defs.video_recs.partitions import (
            USERS_PARTITION_NAME, category_ids, ensure_user_partitions)
        from plexrecs_assets.run_blocks import pair_blocks
        from plexrecs_assets.store.db import init_db

        job = build_definitions().resolve_job_def("plexrecs_job")
        engine = init_db(app.paths.db_path)
        summary = RunSummary()
        statuses = []
        with DagsterInstance.get() as instance:
            # Under the run lock: a run still STARTED from a killed process would block the queue.
            fail_orphaned_runs(instance, app.paths.db_path)
            audiences = {c.id: c.audience for c in load_categories(config_dir)}
            wants_people = any(audiences[c] != "household" for c in selected)
            wanted = [u for u in users or [] if u != "household"] or None
            wants_people = wants_people and (users is None or wanted is not None)
            try:
                people = _people_keys(app, wanted) if wants_people else []
            except ServiceError as exc:
                # Tautulli down: the household run still goes ahead (and reports why it failed);
                # the people are the ones the last successful look-up found.
                known = [k for k in instance.get_dynamic_partitions(USERS_PARTITION_NAME) if k != "household"]
                people = [k for k in known if not wanted or k in wanted]
                summary.warnings.append(f"could not list the people from Tautulli ({exc}); "
                                        f"using the {len(people)} already known")
            ensure_user_partitions(instance, people)
            user_order = list(instance.get_dynamic_partitions(USERS_PARTITION_NAME))
            chosen = (["household"] if not users or "household" in users else []) + people
            blocks = pair_blocks(selected, audiences, category_ids(config_dir), user_order, chosen)
            if not blocks:
                summary.error = "nothing to run: no selected category serves the selected users"
            for block in blocks:
                with StepWatcher(instance, on_step or noop) as watcher:
                    result = job.execute_in_process(
                        instance=instance, run_config=QUIET_LOGGERS, raise_on_error=False,
                        tags={**block.tags(), "plexrecs/mode": mode, **watcher.tags,
                              **({"plexrecs/as_of": as_of} if as_of else {}),
                              **owner_tags(app.paths.db_path)},
                    )
                summary.dagster_run_ids.append(result.run_id)
                summary.warnings += _step_warnings(instance, result.run_id)
                linked_job = runs.job_for_run_id(engine, result.run_id)
                if linked_job is None:
                    summary.error = _failure_message(result) or "the run failed before it started"
                    statuses.append("failed")
                    continue
                # Finalized by the run itself (defs/shared/runtime.py RunRecord), also when a step failed.
                job_row, cats = runs.job_summary(engine, linked_job)
                summary.job_ids.append(linked_job)
                summary.categories += cats
                statuses.append(job_row.get("status", "failed"))
                if job_row.get("error_msg") and job_row.get("status") != "success":
                    summary.error = job_row["error_msg"]
        order = {c.id: i for i, c in enumerate(load_categories(config_dir))}
        # The household's lists first, then each person's, each in categories.yml order.
        summary.categories.sort(key=lambda c: (c.user_key != "household", c.user_key,
                                               order.get(c.category_id, len(order))))
        if statuses and all(s == "success" for s in statuses):
            summary.status = "success"
        elif any(s in ("success", "partial") for s in statuses):
            summary.status = "partial"
        else:
            summary.status = "failed"
        return summary
    finally:
        runs.release_run_lock(app.paths.db_path)
