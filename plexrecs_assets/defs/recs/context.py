"""Builds each category's ``CategoryContext`` from config, store, inventory and taste."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, select

from plexrecs_assets.core.config import AppConfig
from plexrecs_assets.core.dedupe import RECENT_DAYS, Exclusions
from plexrecs_assets.core.rotation import RotationPolicy
from plexrecs_assets.store.schema import category_run, recommendation_history, tmdb_details_cache
from plexrecs_assets.core.taste import TasteProfile
from plexrecs_assets.pipeline.recommend import CategoryContext


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


AS_OF_TAG = "plexrecs/as_of"  # run tag set by `plexrecs run --as-of YYYY-MM-DD`


def as_of_now(as_of: str | None, wall: datetime | None = None) -> datetime:
    """The run's "now": the wall clock, or with ``--as-of`` that day at the wall clock's time
    of day (so several runs replayed for one day keep their order)."""
    wall = wall or datetime.now(timezone.utc)
    if not as_of:
        return wall
    day = date.fromisoformat(as_of)
    return wall.replace(year=day.year, month=day.month, day=day.day)


def run_now(context) -> datetime:
    return as_of_now((context.run.tags or {}).get(AS_OF_TAG))


def current_collection(engine: Engine, label: str, *, before_job: int | None = None) -> list[dict]:
    """The items of ``label``'s last published collection (with ``since``: when each entered it)."""
    query = select(category_run.c.resolved_json_path, category_run.c.job_id).where(
        category_run.c.label == label, category_run.c.status == "success",
        category_run.c.resolved_json_path.is_not(None))
    if before_job is not None:
        query = query.where(category_run.c.job_id < before_job)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(category_run.c.job_id.desc()).limit(1)).first()
        if row is None:
            return []
        try:
            items = json.loads(Path(row.resolved_json_path).read_text(encoding="utf-8")).get("items") or []
        except (OSError, ValueError):
            return []
        first_seen = {(r.media_type, r.tmdb_id): r.first_seen_at for r in conn.execute(
            select(recommendation_history.c.media_type, recommendation_history.c.tmdb_id,
                   recommendation_history.c.first_seen_at).where(recommendation_history.c.label == label))}
    out = []
    for item in items:
        since = item.get("since") or first_seen.get((item.get("medium"), item.get("tmdb_id")))
        if since and isinstance(item.get("tmdb_id"), int):
            out.append({**item, "since": since})
    return out


def category_context(app: AppConfig, category: dict, engine: Engine, taste: TasteProfile,
                     inventory_keys: set, *, now: datetime | None = None,
                     job_id: int | None = None) -> CategoryContext:
    now = now or datetime.now(timezone.utc)
    allowed = app.recommender.allow_media_types
    media_types = [m for m in category.get("media_types", ["movie", "tv"]) if m in allowed]
    recent_keys, recent_names = recently_recommended(engine, category["label"], now)
    seen_keys = {(s["medium"], s["tmdb_id"]) for s in taste.seen if s.get("tmdb_id")}
    seen_titles = [f"{s['title']} ({s['year']})" if s.get("year") else s["title"] for s in taste.seen]
    return CategoryContext(
        category=category,
        count=category.get("recs") or app.recommender.recs_per_category,
        media_types=media_types,
        exclusions=Exclusions(inventory=set(inventory_keys), seen=seen_keys, recently_recommended=recent_keys),
        taste=taste,
        seen_titles=seen_titles,
        recent_titles=recent_names,
        recency_weight=app.recommender.recency_weight,
        diversity_min_fraction=app.recommender.diversity_min_fraction,
        grounded=app.recommender.grounding == "pool",
        now=now,
        current=current_collection(engine, category["label"], before_job=job_id),
        policy=RotationPolicy.from_category(category),
    )
