"""Builds each category's ``CategoryContext`` from config, store, inventory and taste."""
from __future__ import annotations

from datetime import date, datetime, timezone


from plexrecs_assets.config import AppConfig, Category
from plexrecs_assets.video.dedupe import Exclusions
from plexrecs_assets.documents import DocumentError, ResolvedRecs, read_document
from plexrecs_assets.video.rotation import RotationPolicy
from plexrecs_assets.store import history as history_store
from plexrecs_assets.store.db import Engine
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.video.category import CategoryContext


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
    path = history_store.last_published(engine, label, before_job=before_job)
    if path is None:
        return []
    try:
        items = read_document(path, ResolvedRecs).item_dicts()
    except DocumentError:
        return []
    entered = history_store.first_seen(engine, label)
    out = []
    for item in items:
        since = item.get("since") or entered.get((item.get("medium"), item.get("tmdb_id")))
        if since and isinstance(item.get("tmdb_id"), int):
            out.append({**item, "since": since})
    return out


def category_context(app: AppConfig, category: Category, engine: Engine, taste: TasteProfile,
                     inventory_keys: set, *, now: datetime | None = None,
                     job_id: int | None = None, store_label: str | None = None,
                     seen_keys: set | None = None, continuing: set | None = None) -> CategoryContext:
    """``store_label`` (keys.store_label) keys the pair's history: the category's label for the
    household, the label and the person's key for one person. ``seen_keys`` replaces the
    taste's own seen list (a person's, where library mode lets a show in progress through)."""
    now = now or datetime.now(timezone.utc)
    store_label = store_label or category.label
    allowed = app.recommender.allow_media_types
    media_types = [m for m in category.media_types if m in allowed]
    recent_keys, recent_names = history_store.recently_recommended(engine, store_label, now)
    if seen_keys is None:
        seen_keys = {(s["medium"], s["tmdb_id"]) for s in taste.seen if s.get("tmdb_id")}
    # The prompt's already_seen list: what may not come back (a show the person is part-way
    # through stays off it in library mode, so the model may offer to finish it).
    seen_titles = [f"{s['title']} ({s['year']})" if s.get("year") else s["title"] for s in taste.seen
                   if not s.get("tmdb_id") or (s["medium"], s["tmdb_id"]) in seen_keys]
    return CategoryContext(
        category=category,
        count=category.recs or app.recommender.recs_per_category,
        media_types=media_types,
        exclusions=Exclusions(inventory=set(inventory_keys), seen=seen_keys, recently_recommended=recent_keys),
        taste=taste,
        seen_titles=seen_titles,
        recent_titles=recent_names,
        recency_weight=app.recommender.recency_weight,
        diversity_min_fraction=app.recommender.diversity_min_fraction,
        grounded=app.recommender.grounding == "pool",
        now=now,
        current=current_collection(engine, store_label, before_job=job_id),
        policy=RotationPolicy.from_category(category),
        continuing=set(continuing or ()),
    )
