"""Writing a category's Kometa files and recording what they hold (no Dagster imports)."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, insert, select

from plexrecs_assets.core import outputs
from plexrecs_assets.core.pmm import CollectionPlan, plan_collection, render_collection
from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import kometa_publication, plex_inventory

MEDIA = ("movie", "tv")


def owned_ids(engine: Engine) -> dict[str, set[int]]:
    """TMDb ids Plex holds, per medium (the latest inventory snapshot)."""
    owned: dict[str, set[int]] = {m: set() for m in MEDIA}
    with engine.connect() as conn:
        for medium, tmdb_id in conn.execute(select(plex_inventory.c.media_type, plex_inventory.c.tmdb_id)):
            owned.setdefault(medium, set()).add(int(tmdb_id))
    return owned


def publish_category(engine: Engine, pmm_out_dir: str | Path, job_id: int, category: dict, items: list[dict], *,
                     position: int, total: int, owned: dict[str, set[int]]) -> dict[str, dict]:
    """Write both files of one category (a medium without picks becomes a retired collection) and
    record them. Returns, per medium: path, state, items, in_plex and add_missing ids."""
    label = category["label"]
    paths = outputs.pmm_paths(pmm_out_dir, category["id"])
    plans: dict[str, CollectionPlan] = {}
    for medium, path in paths.items():
        outputs.claim_pmm_file(pmm_out_dir, path)  # refuse before writing anything
        ids = [i["tmdb_id"] for i in items if i["medium"] == medium]
        plans[medium] = plan_collection(category, medium, ids, position=position, total=total,
                                        owned=owned.get(medium, set()))
    written: dict[str, dict] = {}
    now = utcnow_iso()
    for medium, path in paths.items():
        plan = plans[medium]
        outputs.atomic_write_text(path, render_collection(plan))
        info = {"path": str(path), "state": "retired" if plan.retired else "collection",
                "items": len(plan.tmdb_ids), "in_plex": len(set(plan.tmdb_ids) & owned.get(medium, set())),
                "add_missing": list(plan.add_missing_ids)}
        outputs.record_pmm_file(pmm_out_dir, path, label, medium, info["items"])
        written[medium] = info
    with engine.begin() as conn:
        conn.execute(insert(kometa_publication), [
            {"job_id": job_id, "label": label, "media_type": medium, "path": info["path"], "state": info["state"],
             "items": info["items"], "in_plex": info["in_plex"], "add_missing": json.dumps(info["add_missing"]),
             "written_at": now} for medium, info in written.items()])
    return written


def publications(engine: Engine, job_id: int) -> dict[str, list[dict]]:
    """What a run wrote for Kometa, by label (movie file first)."""
    out: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(kometa_publication).where(kometa_publication.c.job_id == job_id)
                            .order_by(kometa_publication.c.id)).mappings().all()
    for row in rows:
        item = dict(row)
        item["add_missing"] = json.loads(item["add_missing"] or "[]")
        out.setdefault(row["label"], []).append(item)
    return out
