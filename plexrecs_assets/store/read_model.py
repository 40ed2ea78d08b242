"""Read-only queries on the store, returning plain dicts shaped like the response models.

Tables PlexRecs added beyond the spec (``llm_usage``, ``run_link``) may be missing from an
older store; their absence means "nothing recorded", not an error.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError

from plexrecs_assets.keys import display_label, split_store_label
from plexrecs_assets.store.schema import (
    category_run, category_run_target, job_run, kometa_publication, llm_usage, run_link, users)


def _missing_table(exc: OperationalError) -> bool:
    return "no such table" in str(exc.orig)


def latest_job_id(conn: Connection) -> int | None:
    try:
        return conn.execute(select(job_run.c.id).order_by(job_run.c.id.desc()).limit(1)).scalar()
    except OperationalError as exc:
        if _missing_table(exc):
            return None
        raise


def job_row(conn: Connection, job_id: int) -> dict | None:
    row = conn.execute(select(job_run).where(job_run.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def _usage(rows: Iterable) -> dict | None:
    rows = list(rows)
    if not rows:
        return None
    prompt = sum(r["prompt_tokens"] or 0 for r in rows)
    completion = sum(r["completion_tokens"] or 0 for r in rows)
    return {
        "models": sorted({r["model"] for r in rows if r["model"]}),
        "calls": sum(r["calls"] or 0 for r in rows),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _usage_rows(conn: Connection, job_id: int) -> list:
    try:
        return list(conn.execute(select(llm_usage).where(llm_usage.c.job_id == job_id)).mappings())
    except OperationalError as exc:
        if _missing_table(exc):
            return []
        raise


def dagster_run_ids(conn: Connection, job_id: int) -> list[str]:
    try:
        rows = conn.execute(
            select(run_link.c.dagster_run_id).where(run_link.c.job_id == job_id).order_by(run_link.c.id)
        )
        return [r[0] for r in rows]
    except OperationalError as exc:
        if _missing_table(exc):
            return []
        raise


def job_for_dagster_run(conn: Connection, dagster_run_id: str) -> int | None:
    try:
        return conn.execute(
            select(run_link.c.job_id).where(run_link.c.dagster_run_id == dagster_run_id).order_by(run_link.c.id.desc()).limit(1)
        ).scalar()
    except OperationalError as exc:
        if _missing_table(exc):
            return None
        raise


def _kometa_files(conn: Connection, job_id: int) -> dict[str, list[dict]]:
    """The Kometa files a run wrote, by label: picks, how many Plex holds, ids handed to *arr."""
    try:
        rows = conn.execute(select(kometa_publication).where(kometa_publication.c.job_id == job_id)
                            .order_by(kometa_publication.c.id)).mappings().all()
    except OperationalError as exc:
        if _missing_table(exc):
            return {}
        raise
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["label"], []).append({
            "media_type": r["media_type"], "state": r["state"], "items": r["items"], "in_plex": r["in_plex"],
            "add_missing": json.loads(r["add_missing"] or "[]")})
    return out


def job_summary(conn: Connection, job_id: int) -> dict | None:
    """A ``job_run`` with its ``category_run`` rows and token usage (``JobRunOut``)."""
    job = job_row(conn, job_id)
    if job is None:
        return None
    usage_rows = _usage_rows(conn, job_id)
    by_category: dict[object, list] = {}
    for row in usage_rows:
        by_category.setdefault(row["category_run_id"] or row["label"], []).append(row)
    categories = []
    kometa = _kometa_files(conn, job_id)
    targets = _targets(conn, job_id)
    for row in conn.execute(select(category_run).where(category_run.c.job_id == job_id).order_by(category_run.c.id)).mappings():
        item = dict(row)
        item["usage"] = _usage(by_category.get(row["id"], []) + by_category.get(row["label"], []))
        item["kometa"] = kometa.get(row["label"], [])
        item["short"] = _short_reason(item)
        # A person's row is keyed by its store label; the API shows the plain label and the target key.
        item["label"], user_key = split_store_label(row["label"])
        target = targets.get(row["id"])
        item["user_key"] = target["user_key"] if target else user_key
        item["category_id"] = target["category_id"] if target else None
        categories.append(item)
    return {
        "job_id": job["id"],
        "started_at": job["started_at"],
        "finished_at": job["finished_at"],
        "mode": job["mode"],
        "status": job["status"],
        "error_msg": job["error_msg"],
        "categories": categories,
        "usage": _usage(usage_rows),
        "dagster_run_ids": dagster_run_ids(conn, job_id),
    }


def _targets(conn: Connection, job_id: int | None = None) -> dict[int, dict]:
    """category_run id -> its target key (user_key, category_id); empty on a store before migration 4."""
    query = select(category_run_target)
    if job_id is not None:
        query = query.where(category_run_target.c.job_id == job_id)
    try:
        return {r["category_run_id"]: dict(r) for r in conn.execute(query).mappings()}
    except OperationalError as exc:
        if _missing_table(exc):
            return {}
        raise


def latest_pairs(conn: Connection) -> list[dict]:
    """The latest outcome of every (user_key, category_id) pair that ever ran: status, error,
    job and when its job started, ordered by user then category id."""
    try:
        newest = (select(func.max(category_run_target.c.category_run_id))
                  .group_by(category_run_target.c.user_key, category_run_target.c.category_id))
        rows = conn.execute(
            select(category_run_target.c.user_key, category_run_target.c.category_id, category_run.c.label,
                   category_run.c.status, category_run.c.error_msg, category_run.c.job_id, job_run.c.started_at)
            .select_from(category_run_target.join(category_run, category_run.c.id == category_run_target.c.category_run_id)
                         .join(job_run, job_run.c.id == category_run.c.job_id))
            .where(category_run_target.c.category_run_id.in_(newest))
            .order_by(category_run_target.c.user_key, category_run_target.c.category_id)).mappings().all()
    except OperationalError as exc:
        if _missing_table(exc):
            return []
        raise
    return [{"user_key": r["user_key"], "category_id": r["category_id"], "label": split_store_label(r["label"])[0],
             "display": display_label(r["label"]), "status": r["status"], "error_msg": r["error_msg"],
             "job_id": r["job_id"], "started_at": r["started_at"]} for r in rows]


def latest_playlists(conn: Connection) -> list[dict]:
    """Each person's playlist file of their pair's latest successful run: store label, path, job."""
    try:
        newest = (select(func.max(category_run.c.id)).where(category_run.c.status == "success")
                  .group_by(category_run.c.label))
        latest_jobs = {r["label"]: r["job_id"] for r in conn.execute(
            select(category_run.c.label, category_run.c.job_id).where(category_run.c.id.in_(newest))).mappings()}
        rows = conn.execute(select(kometa_publication).where(kometa_publication.c.media_type == "playlist")
                            .order_by(kometa_publication.c.label, kometa_publication.c.id)).mappings().all()
    except OperationalError as exc:
        if _missing_table(exc):
            return []
        raise
    return [{"label": r["label"], "path": r["path"], "job_id": r["job_id"]} for r in rows
            if latest_jobs.get(r["label"]) == r["job_id"]]


def list_users(conn: Connection) -> list[dict]:
    """The active users for ``GET /v1/users`` (empty before the first sync or migration 4)."""
    try:
        rows = conn.execute(select(users).where(users.c.active == 1).order_by(users.c.user_key)).mappings().all()
    except OperationalError as exc:
        if _missing_table(exc):
            return []
        raise
    return [{"user_key": r["user_key"], "name": r["friendly_name"] or r["username"], "username": r["username"],
             "tautulli_user_id": r["tautulli_user_id"], "plays": r["plays"], "last_play_at": r["last_play_at"]}
            for r in rows]


def _short_reason(row: dict) -> str | None:
    """A category that found too few on-topic titles says why in its resolved JSON (or, when it
    had nothing at all to publish, in its error message)."""
    msg = row.get("error_msg") or ""
    if msg.startswith("short: "):
        return msg[len("short: "):]
    path = row.get("resolved_json_path")
    if not path:
        return None
    try:
        short = json.loads(Path(path).read_text(encoding="utf-8")).get("short")
    except (OSError, ValueError, AttributeError):
        return None
    return short.get("reason") if isinstance(short, dict) else None


def latest_success(conn: Connection, label: str) -> dict | None:
    """The latest successful ``category_run`` of ``label``: the only source of output paths."""
    try:
        row = conn.execute(
            select(category_run)
            .where(category_run.c.label == label, category_run.c.status == "success")
            .order_by(category_run.c.id.desc())
            .limit(1)
        ).mappings().first()
    except OperationalError as exc:
        if _missing_table(exc):
            return None
        raise
    return dict(row) if row else None


def latest_success_by_label(conn: Connection, labels: list[str]) -> dict[str, dict]:
    if not labels:
        return {}
    try:
        newest = (
            select(func.max(category_run.c.id))
            .where(category_run.c.label.in_(labels), category_run.c.status == "success")
            .group_by(category_run.c.label)
        )
        rows = conn.execute(select(category_run).where(category_run.c.id.in_(newest))).mappings()
        return {row["label"]: dict(row) for row in rows}
    except OperationalError as exc:
        if _missing_table(exc):
            return {}
        raise


def partition_keys(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


# ---------------------------------------------------------------- runs stuck past a limit

def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def stuck_jobs(conn: Connection, limit_s: float, now: float) -> list[dict]:
    """``job_run`` rows still ``running`` after ``limit_s`` seconds."""
    try:
        rows = conn.execute(select(job_run.c.id, job_run.c.started_at, run_link.c.dagster_run_id)
                            .select_from(job_run.outerjoin(run_link, run_link.c.job_id == job_run.c.id))
                            .where(job_run.c.status == "running")).all()
    except OperationalError:  # an empty store without the tables yet
        return []
    stuck = []
    for row in rows:
        started = _epoch(row.started_at)
        if started is not None and now - started > limit_s:
            stuck.append({"source": "plexrecs", "job_id": row.id, "dagster_run_id": row.dagster_run_id,
                          "status": "running", "since": row.started_at, "for_s": int(now - started)})
    return stuck
