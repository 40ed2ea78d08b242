"""The ``users`` table: the people per-person recommendations are for (people/users.py).

A row is never deleted and its ``user_key`` never changes once written: recommendation
history, Kometa files and API paths are keyed by it. A user the last sync did not keep
(gone from Tautulli, disabled, excluded by ``users:`` in app.yml) has ``active`` 0.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.store.schema import users

if TYPE_CHECKING:  # the domain types, for annotations only
    from plexrecs_assets.people.users import Person, PlayStats


def epoch_to_iso(epoch: int | None) -> str | None:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` (UTC); None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def known_keys(engine: Engine) -> dict[int, str]:
    """Tautulli user id → stored user key, for every user ever synced (active or not)."""
    with engine.connect() as conn:
        return {int(uid): key for uid, key in conn.execute(select(users.c.tautulli_user_id, users.c.user_key))}


def sync_users(engine: Engine, people: Iterable["Person"], stats: dict[int, "PlayStats"], now_iso: str) -> None:
    """Upsert every person (active, their plays and last play from ``stats``; none: 0 and
    NULL) and mark every other stored user inactive, in one transaction.

    Matched by Tautulli user id; a stored user's key is kept even if ``people`` carries
    another one (keys are stable), while names, e-mail and flags follow Tautulli.
    ``synced_at`` is the last sync that kept the user."""
    rows = []
    for person in people:
        stat = stats.get(person.tautulli_user_id)
        rows.append({
            "user_key": person.user_key,
            "tautulli_user_id": person.tautulli_user_id,
            "username": person.username,
            "friendly_name": person.friendly_name,
            "email": person.email,
            "is_admin": int(bool(person.is_admin)),
            "is_home_user": int(bool(person.is_home_user)),
            "active": 1,
            "plays": stat.plays if stat else 0,
            "last_play_at": epoch_to_iso(stat.last_play) if stat else None,
            "synced_at": now_iso,
        })
    ids = [row["tautulli_user_id"] for row in rows]
    with engine.begin() as conn:
        if rows:
            stmt = sqlite_insert(users)
            updated = ("username", "friendly_name", "email", "is_admin", "is_home_user", "active", "plays",
                       "last_play_at", "synced_at")
            conn.execute(stmt.on_conflict_do_update(index_elements=["tautulli_user_id"],
                                                    set_={c: stmt.excluded[c] for c in updated}), rows)
        conn.execute(users.update().where(users.c.tautulli_user_id.not_in(ids), users.c.active != 0)
                     .values(active=0))


def _as_dict(row) -> dict:
    return {
        "user_key": row.user_key,
        "name": row.friendly_name or row.username,
        "username": row.username,
        "tautulli_user_id": int(row.tautulli_user_id),
        "plays": int(row.plays),
        "last_play_at": row.last_play_at,
        "is_admin": bool(row.is_admin),
        "is_home_user": bool(row.is_home_user),
        "active": bool(row.active),
    }


def list_users(engine: Engine, *, active_only: bool = True) -> list[dict]:
    """The stored users ordered by user key: user_key, name (friendly name, else username),
    username, tautulli_user_id, plays, last_play_at, is_admin, is_home_user, active. No e-mail."""
    query = select(users).order_by(users.c.user_key)
    if active_only:
        query = query.where(users.c.active != 0)
    with engine.connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def get_user(engine: Engine, user_key: str) -> dict | None:
    """One stored user (active or not) by key, as ``list_users`` shows it plus ``friendly_name``,
    ``email`` and ``synced_at``; None if no user has that key."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.user_key == user_key)).first()
    if row is None:
        return None
    return {**_as_dict(row), "friendly_name": row.friendly_name, "email": row.email, "synced_at": row.synced_at}
