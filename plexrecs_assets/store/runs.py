"""Run bookkeeping in the store: ``job_run`` / ``category_run`` rows, the link to the Dagster
run, token usage, the one-run-at-a-time lock and recovery from runs that were killed."""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine, and_, func, insert, select, update

from plexrecs_assets.documents import CategorySummary, DocumentError, ResolvedRecs, read_document
from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.keys import HOUSEHOLD, display_label, split_store_label
from plexrecs_assets.store.schema import category_run, category_run_target, job_run, llm_usage, run_link

IN_PROGRESS = "in progress"
DERIVED_ERROR = re.compile(r"\d+ of \d+ categories failed")
INTERRUPTED = "interrupted: the run's process ended before it finished (killed, crashed or the machine restarted)"


class RunLockedError(RuntimeError):
    pass


_HELD_LOCKS: dict[str, int] = {}


def acquire_run_lock(db_path: str | Path) -> bool:
    """Take the process-wide run lock for this database; False if another process holds it.

    flock is released by the kernel when the process dies, so a killed run never leaves a
    stale lock behind. Re-acquiring in the same process is a no-op.
    """
    path = lock_path(db_path)
    if path in _HELD_LOCKS:
        return True
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _HELD_LOCKS[path] = fd
    return True


def holds_run_lock(db_path: str | Path) -> bool:
    """True when this process holds the run lock of this database."""
    return lock_path(db_path) in _HELD_LOCKS


def lock_path(db_path: str | Path) -> str:
    """The run lock's file for this database (also the tag that ties a Dagster run to it)."""
    return str(Path(db_path).resolve()) + ".lock"


def release_run_lock(db_path: str | Path) -> None:
    fd = _HELD_LOCKS.pop(lock_path(db_path), None)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def require_run_lock(db_path: str | Path) -> None:
    if not acquire_run_lock(db_path):
        raise RunLockedError(
            f"another PlexRecs run is in progress on {db_path}; wait for it to finish (only one run at a time)"
        )


@contextmanager
def run_lock_if_free(db_path: str | Path):
    """Yield True while holding the run lock (released after, unless this process already held
    it), or False at once when another process holds it."""
    held_before = lock_path(db_path) in _HELD_LOCKS
    if not acquire_run_lock(db_path):
        yield False
        return
    try:
        yield True
    finally:
        if not held_before:
            release_run_lock(db_path)


def recover_interrupted_runs(engine: Engine, keep_job_id: int | None = None) -> int:
    """Mark ``running`` jobs as failed. Only called while holding the run lock, so any job
    still marked running belongs to a process that no longer exists."""
    now = utcnow_iso()
    with engine.begin() as conn:
        stale = [r.id for r in conn.execute(select(job_run.c.id).where(job_run.c.status == "running"))
                 if r.id != keep_job_id]
        for job_id in stale:
            conn.execute(update(job_run).where(job_run.c.id == job_id).values(
                status="failed", finished_at=now, error_msg=INTERRUPTED))
            conn.execute(update(category_run).where(and_(
                category_run.c.job_id == job_id, category_run.c.error_msg == IN_PROGRESS)).values(
                status="failed", error_msg=INTERRUPTED))
    return len(stale)


def job_for_dagster_run(engine: Engine, dagster_run_id: str, *, mode: str, partition_keys: list[str] | None = None,
                        on_new_job: Callable[[], object] | None = None) -> int:
    """The job_run row of this Dagster run, created by whichever asset runs first.

    ``on_new_job`` runs once, when the row is created (under the run lock): the place to tidy
    up after a run that was killed."""
    with engine.begin() as conn:
        row = conn.execute(select(run_link.c.job_id).where(run_link.c.dagster_run_id == dagster_run_id)).first()
        if row:
            return int(row.job_id)
        job_id = conn.execute(insert(job_run).values(
            started_at=utcnow_iso(), mode=mode, status="running")).inserted_primary_key[0]
        conn.execute(insert(run_link).values(
            job_id=job_id, dagster_run_id=dagster_run_id,
            partition_keys=json.dumps(partition_keys) if partition_keys is not None else None))
    recover_interrupted_runs(engine, keep_job_id=job_id)
    if on_new_job is not None:
        on_new_job()
    return int(job_id)


def start_category(engine: Engine, job_id: int, label: str, category_type: str, *,
                   category_id: str | None = None, user_key: str = HOUSEHOLD) -> int:
    """The pair's ``category_run`` row in this run (``label`` is its keys.store_label), with its
    target key in ``category_run_target`` when the category id is given."""
    with engine.begin() as conn:
        existing = conn.execute(select(category_run.c.id).where(
            category_run.c.job_id == job_id, category_run.c.label == label)).first()
        if existing:
            return int(existing.id)
        row_id = int(conn.execute(insert(category_run).values(
            job_id=job_id, label=label, type=category_type, status="failed", error_msg=IN_PROGRESS,
        )).inserted_primary_key[0])
        if category_id is not None:
            conn.execute(insert(category_run_target).values(
                category_run_id=row_id, job_id=job_id, user_key=user_key, category_id=category_id))
        return row_id


def update_category(engine: Engine, category_run_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(category_run).where(category_run.c.id == category_run_id).values(**values))


def fail_category(engine: Engine, category_run_id: int, message: str) -> None:
    update_category(engine, category_run_id, status="failed", error_msg=message[:2000])


def record_usage(engine: Engine, *, job_id: int, category_run_id: int | None, label: str, model: str,
                 calls: int, prompt_tokens: int, completion_tokens: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(llm_usage).values(
            job_id=job_id, category_run_id=category_run_id, label=label, model=model, calls=calls,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, recorded_at=utcnow_iso()))


def tokens_used(engine: Engine, job_id: int) -> int:
    with engine.connect() as conn:
        total = conn.execute(select(func.coalesce(func.sum(llm_usage.c.prompt_tokens + llm_usage.c.completion_tokens), 0))
                             .where(llm_usage.c.job_id == job_id)).scalar()
    return int(total or 0)


def _derived(conn, job_id: int) -> tuple[str, str | None]:
    """(status, error) of a job from what is recorded so far."""
    current = conn.execute(select(job_run.c.status, job_run.c.error_msg).where(job_run.c.id == job_id)).first()
    if current is not None and current.status == "failed" and current.error_msg \
            and not DERIVED_ERROR.fullmatch(current.error_msg):
        # Already failed with a reason (e.g. an interrupted run): deriving must not undo that.
        return "failed", current.error_msg
    rows = conn.execute(select(category_run.c.status, category_run.c.error_msg).where(
        category_run.c.job_id == job_id)).all()
    failed = [r for r in rows if r.status != "success"]
    if not rows or not failed:
        return "success", None
    status = "failed" if len(failed) == len(rows) else "partial"
    return status, f"{len(failed)} of {len(rows)} categories failed"


def derived_status(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return _derived(conn, job_id)[0]


def finalize_job(engine: Engine, job_id: int, *, error: str | None = None) -> str:
    """Derive the job status from its categories, or mark it failed with ``error`` (a category
    still in progress then says it did not finish, and why)."""
    with engine.begin() as conn:
        if error is not None:
            status = "failed"
            conn.execute(update(category_run).where(and_(
                category_run.c.job_id == job_id, category_run.c.error_msg == IN_PROGRESS)).values(
                error_msg=f"not finished: {error}"[:2000]))
        else:
            status, error = _derived(conn, job_id)
        conn.execute(update(job_run).where(job_run.c.id == job_id).values(
            status=status, finished_at=utcnow_iso(), error_msg=error[:2000] if error else None))
    return status


def job_summary(engine: Engine, job_id: int) -> tuple[dict, list[CategorySummary]]:
    with engine.connect() as conn:
        job = conn.execute(select(job_run).where(job_run.c.id == job_id)).first()
        cats = conn.execute(select(category_run).where(category_run.c.job_id == job_id)
                            .order_by(category_run.c.id)).all()
        targets = {r.category_run_id: r for r in conn.execute(
            select(category_run_target).where(category_run_target.c.job_id == job_id))}
        usage_rows = conn.execute(select(llm_usage).where(llm_usage.c.job_id == job_id)).all()
        from plexrecs_assets.store.schema import overseerr_request
        requested: dict[str, list[str]] = {}
        for r in conn.execute(select(overseerr_request).where(overseerr_request.c.job_id == job_id,
                                                              overseerr_request.c.outcome == "created")):
            requested.setdefault(r.label, []).append(f"{r.media_type} {r.tmdb_id}")
    # A category may have several usage rows (first answer, then top-up rounds): add them up.
    usage: dict[str, dict] = {}
    for u in usage_rows:
        acc = usage.setdefault(u.label, {"prompt_tokens": 0, "completion_tokens": 0, "model": u.model})
        acc["prompt_tokens"] += u.prompt_tokens
        acc["completion_tokens"] += u.completion_tokens
    from plexrecs_assets.store.kometa import publications

    kometa_files = publications(engine, job_id)
    summaries = []
    for c in cats:
        published, dropped, short, rotation = 0, {}, None, {}
        if c.resolved_json_path and Path(c.resolved_json_path).exists():
            try:
                doc = read_document(c.resolved_json_path, ResolvedRecs)
                published = len(doc.items)
                dropped = doc.dropped or {}
                short = (doc.short or {}).get("reason")
                rotation = doc.rotation or {}
            except DocumentError:
                pass
        elif c.error_msg and c.error_msg.startswith("short: "):
            short = c.error_msg[len("short: "):]
        u = usage.get(c.label)
        target = targets.get(c.id)
        _, user_key = split_store_label(c.label)
        summaries.append(CategorySummary(
            label=display_label(c.label), user_key=target.user_key if target else user_key,
            category_id=target.category_id if target else None, type=c.type, status=c.status, error=c.error_msg, published=published,
            dropped=dropped,
            files=[p for p in (c.raw_json_path, c.resolved_json_path, c.pmm_movie_yaml_path, c.pmm_tv_yaml_path) if p],
            prompt_tokens=u["prompt_tokens"] if u else 0, completion_tokens=u["completion_tokens"] if u else 0,
            model=u["model"] if u else None, kometa=kometa_files.get(c.label, []), short=short, kept=int(rotation.get("kept") or 0),
            added=int(rotation.get("added") or 0), removed=len(rotation.get("removed") or []),
            overseerr_requested=requested.get(c.label, []),
        ))
    return (dict(job._mapping) if job else {}), summaries


def job_for_run_id(engine: Engine, dagster_run_id: str) -> int | None:
    """The job_run a Dagster run produced (``run_link``), or None before its first step."""
    with engine.connect() as conn:
        row = conn.execute(select(run_link.c.job_id).where(run_link.c.dagster_run_id == dagster_run_id)).first()
    return row.job_id if row else None


def category_rows(engine: Engine, job_id: int, *, status: str | None = None) -> list:
    """The ``category_run`` rows of ``job_id`` (optionally only those with ``status``), in id order."""
    query = select(category_run).where(category_run.c.job_id == job_id)
    if status is not None:
        query = query.where(category_run.c.status == status)
    with engine.connect() as conn:
        return conn.execute(query.order_by(category_run.c.id)).all()
