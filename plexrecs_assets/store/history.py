"""Recommendation history: ``recommendation_history`` (the spec's 60-day table, keyed by
label) and the append-only ``recommendation_event`` log (also keyed by the target key)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.video.dedupe import RECENT_DAYS
from plexrecs_assets.keys import TargetKey
from plexrecs_assets.store.schema import (
    category_run, recommendation_event, recommendation_history, tmdb_details_cache)


def recently_recommended(engine: Engine, label: str, now: datetime | None = None) -> tuple[set, list[str]]:
    """(keys, "Title (Year)" names) recommended for ``label`` in the last 60 days."""
    now = now or datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with engine.connect() as conn:
        rows = conn.execute(select(recommendation_history.c.tmdb_id, recommendation_history.c.media_type,
                                   tmdb_details_cache.c.payload)
                            .select_from(recommendation_history.outerjoin(tmdb_details_cache, (
                                tmdb_details_cache.c.tmdb_id == recommendation_history.c.tmdb_id) & (
                                tmdb_details_cache.c.media_type == recommendation_history.c.media_type)))
                            .where(recommendation_history.c.label == label,
                                   recommendation_history.c.last_seen_at >= cutoff)).all()
    keys = {(r.media_type, r.tmdb_id) for r in rows}
    names = []
    for r in rows:
        if r.payload:
            p = json.loads(r.payload)
            names.append(f"{p.get('title')} ({p.get('year')})")
    return keys, names


def last_published(engine: Engine, label: str, *, before_job: int | None = None) -> str | None:
    """The resolved JSON path of ``label``'s last successful category run (before ``before_job``)."""
    query = select(category_run.c.resolved_json_path).where(
        category_run.c.label == label, category_run.c.status == "success",
        category_run.c.resolved_json_path.is_not(None))
    if before_job is not None:
        query = query.where(category_run.c.job_id < before_job)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(category_run.c.job_id.desc()).limit(1)).first()
    return row.resolved_json_path if row else None


def first_seen(engine: Engine, label: str) -> dict[tuple[str, int], str]:
    """When each title first entered ``label``'s collection."""
    with engine.connect() as conn:
        return {(r.media_type, r.tmdb_id): r.first_seen_at for r in conn.execute(
            select(recommendation_history.c.media_type, recommendation_history.c.tmdb_id,
                   recommendation_history.c.first_seen_at).where(recommendation_history.c.label == label))}


def record_published(engine: Engine, job_id: int, label: str, target: TargetKey, items: list[dict], now: str) -> None:
    """The 60-day history stays keyed by label (the spec's table); the event log also carries the target key."""
    if not items:
        return
    with engine.begin() as conn:
        stmt = sqlite_insert(recommendation_history)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["label", "tmdb_id", "media_type"], set_={"last_seen_at": stmt.excluded.last_seen_at}),
            [{"label": label, "tmdb_id": i["tmdb_id"], "media_type": i["medium"], "first_seen_at": now,
              "last_seen_at": now} for i in items])
        conn.execute(insert(recommendation_event), [
            {"job_id": job_id, "label": label, "user_key": target.user_key, "category_id": target.category_id,
             "tmdb_id": i["tmdb_id"], "media_type": i["medium"], "source": "kept" if i.get("kept") else i.get("source"),
             "recommended_at": now}
            for i in items])


def previous_event_keys(engine: Engine, label: str, job_id: int) -> set[tuple[str, int]]:
    """The (medium, tmdb_id) of ``label``'s last published run before ``job_id``."""
    ev = recommendation_event
    with engine.connect() as conn:
        previous = conn.execute(select(ev.c.job_id).where(ev.c.label == label, ev.c.job_id < job_id)
                                .order_by(ev.c.job_id.desc()).limit(1)).scalar()
        if previous is None:
            return set()
        return {(r.media_type, r.tmdb_id) for r in conn.execute(select(ev.c.media_type, ev.c.tmdb_id).where(
            ev.c.label == label, ev.c.job_id == previous))}


def earlier_run_recommending(engine: Engine, label: str, medium: str, tmdb_id: int, *, job_id: int,
                             since: str) -> int | None:
    """A run other than ``job_id`` that recommended the title for ``label`` at or after ``since``."""
    ev = recommendation_event
    with engine.connect() as conn:
        row = conn.execute(select(ev.c.job_id).where(
            ev.c.label == label, ev.c.tmdb_id == tmdb_id, ev.c.media_type == medium,
            ev.c.job_id != job_id, ev.c.recommended_at >= since).limit(1)).first()
    return row.job_id if row else None
