"""The ``plex_inventory`` table: what the Plex library holds, by TMDb key."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.store.db import utcnow_iso
from plexrecs_assets.store.schema import plex_inventory


def replace_inventory(engine: Engine, keys: Iterable[tuple[str, int]]) -> None:
    """Make the table exactly ``keys`` (medium, tmdb_id) in one transaction: present titles are
    upserted with this scan's time and titles no longer in the library stop counting as owned."""
    now = utcnow_iso()
    rows = [{"tmdb_id": tmdb_id, "media_type": medium, "present_at": now} for medium, tmdb_id in sorted(set(keys))]
    with engine.begin() as conn:
        if rows:
            stmt = sqlite_insert(plex_inventory)
            conn.execute(stmt.on_conflict_do_update(index_elements=["tmdb_id", "media_type"],
                                                    set_={"present_at": stmt.excluded.present_at}), rows)
        conn.execute(plex_inventory.delete().where(plex_inventory.c.present_at != now))


def owned_ids(engine: Engine, media=("movie", "tv")) -> dict[str, set[int]]:
    """TMDb ids Plex holds, per medium (the latest inventory snapshot)."""
    owned: dict[str, set[int]] = {m: set() for m in media}
    with engine.connect() as conn:
        for medium, tmdb_id in conn.execute(select(plex_inventory.c.media_type, plex_inventory.c.tmdb_id)):
            owned.setdefault(medium, set()).add(int(tmdb_id))
    return owned


def owned_keys(engine: Engine) -> set[tuple[str, int]]:
    """(medium, tmdb_id) of everything Plex holds."""
    return {(m, i) for m, ids in owned_ids(engine).items() for i in ids}
