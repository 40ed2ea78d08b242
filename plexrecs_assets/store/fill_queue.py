"""The background TMDb details fill's work list (``tmdb_fill_queue``).

``taste_profile`` fetches at most ``tmdb.profile_fetch_per_run`` uncached titles per run (the
most recent and most loved first) and queues the rest here; the ``tmdb_details_fill`` job
fetches them between runs, so a long history is covered within a day or so instead of after
weeks of daily runs, and the daily run itself stays short.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import tmdb_details_cache, tmdb_fill_queue

# A title TMDb failed on this many times is left alone (kept, so the count shows in health).
MAX_ATTEMPTS = 3

Key = tuple[str, int]


def enqueue(engine: Engine, keys: Iterable[Key]) -> int:
    """Make the queue ``keys``, in the order given (the run's enrichment order of every title
    it deferred): new keys are added, queued ones take their new position (keeping their
    failed attempts), and keys no longer deferred leave. Returns how many keys are queued."""
    wanted = list(dict.fromkeys(keys))
    rows = [{"media_type": m, "tmdb_id": i, "priority": n, "queued_at": utcnow_iso()}
            for n, (m, i) in enumerate(wanted)]
    with engine.begin() as conn:
        have = {(r.media_type, r.tmdb_id) for r in conn.execute(
            select(tmdb_fill_queue.c.media_type, tmdb_fill_queue.c.tmdb_id))}
        for media_type, tmdb_id in have - set(wanted):
            conn.execute(delete(tmdb_fill_queue).where(tmdb_fill_queue.c.media_type == media_type,
                                                       tmdb_fill_queue.c.tmdb_id == tmdb_id))
        if rows:
            stmt = sqlite_insert(tmdb_fill_queue)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["media_type", "tmdb_id"], set_={"priority": stmt.excluded.priority}), rows)
        return conn.execute(select(func.count()).select_from(tmdb_fill_queue)).scalar_one()


def next_batch(engine: Engine, limit: int) -> list[Key]:
    """Up to ``limit`` queued keys, first in the enrichment order; entries whose details are
    cached by now (a daily run fetched them) are dropped from the queue instead."""
    with engine.begin() as conn:
        cached = select(tmdb_details_cache.c.id).where(
            tmdb_details_cache.c.tmdb_id == tmdb_fill_queue.c.tmdb_id,
            tmdb_details_cache.c.media_type == tmdb_fill_queue.c.media_type).exists()
        conn.execute(delete(tmdb_fill_queue).where(cached))
        rows = conn.execute(select(tmdb_fill_queue.c.media_type, tmdb_fill_queue.c.tmdb_id)
                            .where(tmdb_fill_queue.c.attempts < MAX_ATTEMPTS)
                            .order_by(tmdb_fill_queue.c.priority, tmdb_fill_queue.c.id).limit(limit)).all()
    return [(r.media_type, r.tmdb_id) for r in rows]


def mark_done(engine: Engine, keys: Iterable[Key]) -> None:
    keys = list(keys)
    if not keys:
        return
    with engine.begin() as conn:
        for media_type, tmdb_id in keys:
            conn.execute(delete(tmdb_fill_queue).where(tmdb_fill_queue.c.media_type == media_type,
                                                       tmdb_fill_queue.c.tmdb_id == tmdb_id))


def mark_failed(engine: Engine, keys: Iterable[Key], error: str) -> None:
    """Count a failed attempt; after ``MAX_ATTEMPTS`` the key is skipped by ``next_batch``."""
    keys = list(keys)
    if not keys:
        return
    with engine.begin() as conn:
        for media_type, tmdb_id in keys:
            conn.execute(update(tmdb_fill_queue).where(
                tmdb_fill_queue.c.media_type == media_type, tmdb_fill_queue.c.tmdb_id == tmdb_id).values(
                attempts=tmdb_fill_queue.c.attempts + 1, last_error=error[:500]))


def pending(engine: Engine) -> int:
    """Queued keys that the fill will still try."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tmdb_fill_queue)
                            .where(tmdb_fill_queue.c.attempts < MAX_ATTEMPTS)).scalar_one()
