"""The caches: ``title_resolution_cache`` (what a watched title resolved to on TMDb) and the TMDb
details and list-page caches."""
from __future__ import annotations

import json
from typing import Iterable

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import tmdb_details_cache, tmdb_list_cache, title_resolution_cache


def cached_resolution(engine: Engine, title: str, year: int | None, medium: str) -> tuple[bool, int | None]:
    """(found, tmdb_id): found with a None id means "TMDb has no match", remembered as such."""
    with engine.connect() as conn:
        row = conn.execute(select(title_resolution_cache.c.tmdb_id).where(
            title_resolution_cache.c.title == title, title_resolution_cache.c.media_type == medium,
            (title_resolution_cache.c.year == year) if year is not None else title_resolution_cache.c.year.is_(None),
        ).order_by(title_resolution_cache.c.id.desc()).limit(1)).first()
    return (row is not None, row.tmdb_id if row else None)


def remember_resolution(engine: Engine, title: str, year: int | None, medium: str, tmdb_id: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(title_resolution_cache).values(
            title=title, year=year, media_type=medium, tmdb_id=tmdb_id, resolved_at=utcnow_iso()))


def remember_facts(engine: Engine, facts: Iterable[TitleFacts]) -> None:
    """Keep title → id, runtime and IMDb id for every title now known (once per key)."""
    now = utcnow_iso()
    with engine.begin() as conn:
        known = {(r.media_type, r.tmdb_id) for r in conn.execute(
            select(title_resolution_cache.c.media_type, title_resolution_cache.c.tmdb_id))}
        rows = [{"title": f.title, "year": f.year, "media_type": f.medium, "tmdb_id": f.tmdb_id,
                 "imdb_id": f.imdb_id, "country": (f.countries[0] if f.countries else None),
                 "runtime_min": f.runtime_min, "resolved_at": now}
                for f in facts if (f.medium, f.tmdb_id) not in known]
        if rows:
            conn.execute(insert(title_resolution_cache), rows)


def details_payload(engine: Engine, medium: str, tmdb_id: int) -> dict | None:
    """The cached TMDb record of one title (``tmdb_details_cache``), or None."""
    with engine.connect() as conn:
        row = conn.execute(select(tmdb_details_cache.c.payload).where(
            tmdb_details_cache.c.tmdb_id == tmdb_id, tmdb_details_cache.c.media_type == medium)).first()
    return json.loads(row.payload) if row else None


# ---------------------------------------------------------------- TMDb details and list pages

def store_details_payload(engine: Engine, medium: str, tmdb_id: int, payload: dict) -> None:
    stmt = sqlite_insert(tmdb_details_cache).values(tmdb_id=tmdb_id, media_type=medium, payload=json.dumps(payload),
                                                    fetched_at=utcnow_iso())
    stmt = stmt.on_conflict_do_update(index_elements=["tmdb_id", "media_type"],
                                      set_={"payload": stmt.excluded.payload, "fetched_at": stmt.excluded.fetched_at})
    with engine.begin() as conn:
        conn.execute(stmt)


def details_payloads(engine: Engine, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], dict]:
    """Cached TMDb records for ``keys``, read in bulk (one ``IN`` query per 500 ids)."""
    wanted = set(keys)
    found: dict[tuple[str, int], dict] = {}
    ids = sorted({tmdb_id for _, tmdb_id in wanted})
    with engine.connect() as conn:
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            rows = conn.execute(select(tmdb_details_cache.c.media_type, tmdb_details_cache.c.tmdb_id,
                                       tmdb_details_cache.c.payload)
                                .where(tmdb_details_cache.c.tmdb_id.in_(ids[i:i + 500])))
            for medium, tmdb_id, payload in rows:
                if (medium, tmdb_id) in wanted:
                    found[(medium, tmdb_id)] = json.loads(payload)
    return found


def list_payload(engine: Engine, cache_key: str, *, fresh_after: str):
    """A cached TMDb list page fetched at or after ``fresh_after``, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(tmdb_list_cache.c.payload).where(
            tmdb_list_cache.c.cache_key == cache_key, tmdb_list_cache.c.fetched_at >= fresh_after)).first()
    return json.loads(row[0]) if row else None


def store_list_payload(engine: Engine, cache_key: str, payload) -> None:
    stmt = sqlite_insert(tmdb_list_cache).values(cache_key=cache_key, payload=json.dumps(payload), fetched_at=utcnow_iso())
    stmt = stmt.on_conflict_do_update(index_elements=["cache_key"], set_={
        "payload": stmt.excluded.payload, "fetched_at": stmt.excluded.fetched_at})
    with engine.begin() as conn:
        conn.execute(stmt)
