"""Read Tautulli's users and plays, choose the people to recommend for, store them."""
from __future__ import annotations

from datetime import date
from typing import Any

from plexrecs_assets.config import AppConfig
from plexrecs_assets.people.users import UserSelection, play_stats, select_people
from plexrecs_assets.store import users as users_store
from plexrecs_assets.store.db import utcnow_iso


def sync_from_tautulli(client: Any, engine: Any, app: AppConfig, *, today: date | None = None) -> UserSelection:
    """Sync the ``users`` table from Tautulli and return the selection.

    ``client`` is a ``clients.tautulli.TautulliClient`` (``get_users``, ``iter_history``);
    ``engine`` the store's engine (``store.db.init_db``). Plays are counted over the
    ``tautulli.lookback_days`` window (as ``watch_history`` reads it) and attached to the
    returned selection as ``selection.stats`` (Tautulli user id → ``PlayStats``; use
    ``selection.stats_for(person)``). Keys already stored are reused; users not kept this
    time are marked inactive. Service errors (``clients.base.ServiceError``) propagate and
    leave the table as it was."""
    rows = client.get_users()
    stats = play_stats(client.iter_history(after=app.tautulli.history_start(today or date.today())))
    selection = select_people(rows, include=list(app.users.include), exclude=list(app.users.exclude),
                              known=users_store.known_keys(engine))
    users_store.sync_users(engine, selection.people, stats, utcnow_iso())
    selection.stats = stats
    return selection
