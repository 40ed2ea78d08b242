"""Writing a category's Kometa files and recording what they hold (no Dagster imports)."""
from __future__ import annotations

from pathlib import Path

from plexrecs_assets import outputs
from plexrecs_assets.config import Category, as_category
from plexrecs_assets.publish.kometa_files import CollectionPlan, plan_collection, render_collection
from plexrecs_assets.store import inventory as inventory_store
from plexrecs_assets.store import kometa as kometa_store
from plexrecs_assets.store.db import Engine

MEDIA = ("movie", "tv")


def owned_ids(engine: Engine) -> dict[str, set[int]]:
    """TMDb ids Plex holds, per medium (the latest inventory snapshot)."""
    return inventory_store.owned_ids(engine, MEDIA)


def publish_category(engine: Engine, pmm_out_dir: str | Path, job_id: int, category: Category, items: list[dict], *,
                     position: int, total: int, owned: dict[str, set[int]]) -> dict[str, dict]:
    """Write both files of one category (a medium without picks becomes a retired collection) and
    record them. Returns, per medium: path, state, items, in_plex and add_missing ids."""
    category = as_category(category)
    label = category.label
    paths = outputs.pmm_paths(pmm_out_dir, category.id)
    plans: dict[str, CollectionPlan] = {}
    for medium, path in paths.items():
        outputs.claim_pmm_file(pmm_out_dir, path)  # refuse before writing anything
        ids = [i["tmdb_id"] for i in items if i["medium"] == medium]
        plans[medium] = plan_collection(category, medium, ids, position=position, total=total,
                                        owned=owned.get(medium, set()))
    written: dict[str, dict] = {}
    for medium, path in paths.items():
        plan = plans[medium]
        outputs.atomic_write_text(path, render_collection(plan))
        info = {"path": str(path), "state": "retired" if plan.retired else "collection",
                "items": len(plan.tmdb_ids), "in_plex": len(set(plan.tmdb_ids) & owned.get(medium, set())),
                "add_missing": list(plan.add_missing_ids)}
        outputs.record_pmm_file(pmm_out_dir, path, label, medium, info["items"])
        written[medium] = info
    kometa_store.record_publications(engine, job_id, label, written)
    return written


def publications(engine: Engine, job_id: int) -> dict[str, list[dict]]:
    """What a run wrote for Kometa, by label (movie file first)."""
    return kometa_store.publications(engine, job_id)
