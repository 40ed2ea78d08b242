"""``kometa_publication``: what each run wrote for Kometa, per category and medium."""
from __future__ import annotations

import json

from sqlalchemy import Engine, insert, select

from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import kometa_publication


def record_publications(engine: Engine, job_id: int, label: str, written: dict[str, dict]) -> None:
    """One row per medium file: path, state, items, in_plex and the add_missing ids."""
    now = utcnow_iso()
    with engine.begin() as conn:
        conn.execute(insert(kometa_publication), [
            {"job_id": job_id, "label": label, "media_type": medium, "path": info["path"], "state": info["state"],
             "items": info["items"], "in_plex": info["in_plex"], "add_missing": json.dumps(info["add_missing"]),
             "written_at": now} for medium, info in written.items()])


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
