"""Builds each category's ``CategoryContext`` from config, store, inventory and taste."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select

from plexrecs_assets.core.config import AppConfig
from plexrecs_assets.core.dedupe import RECENT_DAYS, Exclusions
from plexrecs_assets.core.store.schema import recommendation_history, tmdb_details_cache
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


def category_context(app: AppConfig, category: dict, engine: Engine, taste: TasteProfile,
                     inventory_keys: set) -> CategoryContext:
    allowed = app.recommender.allow_media_types
    media_types = [m for m in category.get("media_types", ["movie", "tv"]) if m in allowed]
    recent_keys, recent_names = recently_recommended(engine, category["label"])
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
    )
