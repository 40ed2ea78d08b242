"""The ``users`` table (store/users.py): stable keys, vanished users deactivated, never deleted."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from plexrecs_assets.people.users import Person, PlayStats, select_people
from plexrecs_assets.store import users as users_store
from plexrecs_assets.store.db import init_db
from plexrecs_assets.store.migrations import LATEST, MIGRATIONS, migrate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-3933b5f.sqlite"
T1 = "2026-01-01T00:00:00Z"
T2 = "2026-01-02T00:00:00Z"


def row(user_id, username, friendly_name="", **extra) -> dict:
    return {"user_id": user_id, "username": username, "friendly_name": friendly_name, "email": None,
            "is_active": 1, "is_admin": 0, "is_home_user": 1, **extra}


def sync(engine, rows, stats=None, now=T1, **filters):
    selection = select_people(rows, include=filters.get("include", []), exclude=filters.get("exclude", []),
                              known=users_store.known_keys(engine))
    users_store.sync_users(engine, selection.people, stats or {}, now)
    return selection


def test_sync_stores_people_with_their_plays(tmp_path):
    engine = init_db(tmp_path / "plexrecs.sqlite")
    assert users_store.known_keys(engine) == {} and users_store.list_users(engine) == []
    sync(engine, [row(2, "samvoid", "Sam"), row(1, "dana.p", "Dana", is_admin=1, email="dana@example.org")],
         {1: PlayStats(3, 1767225600), 9: PlayStats(5, 1)})
    listed = users_store.list_users(engine)
    assert listed == [
        {"user_key": "dana-p", "name": "Dana", "username": "dana.p", "tautulli_user_id": 1, "plays": 3,
         "last_play_at": "2026-01-01T00:00:00Z", "is_admin": True, "is_home_user": True, "active": True},
        {"user_key": "samvoid", "name": "Sam", "username": "samvoid", "tautulli_user_id": 2, "plays": 0,
         "last_play_at": None, "is_admin": False, "is_home_user": True, "active": True},
    ]
    assert users_store.known_keys(engine) == {1: "dana-p", 2: "samvoid"}
    dana = users_store.get_user(engine, "dana-p")
    assert dana["email"] == "dana@example.org" and dana["synced_at"] == T1 and dana["plays"] == 3
    assert users_store.get_user(engine, "nobody") is None


def test_keys_stay_stable_across_renames_and_vanished_users_are_deactivated(tmp_path):
    engine = init_db(tmp_path / "plexrecs.sqlite")
    sync(engine, [row(1, "dana"), row(2, "sam"), row(3, "riley")], {2: PlayStats(4, 100)})
    # dana renames herself "Sam 2"; sam leaves Tautulli; a new user takes the name "dana"
    sync(engine, [row(1, "Sam 2", "Dana"), row(3, "riley"), row(4, "dana")], {4: PlayStats(1, 200)}, now=T2)
    assert users_store.known_keys(engine) == {1: "dana", 2: "sam", 3: "riley", 4: "dana-4"}
    assert [u["user_key"] for u in users_store.list_users(engine)] == ["dana", "dana-4", "riley"]
    everyone = {u["user_key"]: u for u in users_store.list_users(engine, active_only=False)}
    assert everyone["sam"]["active"] is False and everyone["sam"]["plays"] == 4  # kept, never deleted
    assert everyone["dana"]["username"] == "Sam 2" and everyone["dana"]["name"] == "Dana"
    assert users_store.get_user(engine, "sam")["synced_at"] == T1  # the last sync that kept sam
    assert users_store.get_user(engine, "dana")["synced_at"] == T2
    # sam comes back: same key, active again
    sync(engine, [row(2, "sam"), row(1, "Sam 2")], now=T2)
    assert users_store.get_user(engine, "sam")["active"] is True
    assert [u["user_key"] for u in users_store.list_users(engine)] == ["dana", "sam"]


def test_excluded_users_become_inactive_and_an_empty_sync_deactivates_everyone(tmp_path):
    engine = init_db(tmp_path / "plexrecs.sqlite")
    sync(engine, [row(1, "dana"), row(2, "sam")])
    sync(engine, [row(1, "dana"), row(2, "sam")], exclude=["sam"])
    assert [u["user_key"] for u in users_store.list_users(engine)] == ["dana"]
    users_store.sync_users(engine, [], {}, T2)
    assert users_store.list_users(engine) == []
    assert len(users_store.list_users(engine, active_only=False)) == 2


def test_a_stored_key_is_never_rewritten(tmp_path):
    engine = init_db(tmp_path / "plexrecs.sqlite")
    sync(engine, [row(1, "dana")])
    users_store.sync_users(engine, [Person("other-key", 1, "dana", None, None, False, False)], {}, T2)
    assert users_store.known_keys(engine) == {1: "dana"}


def test_a_store_at_version_3_upgrades_and_syncs(tmp_path):
    db = tmp_path / "plexrecs.sqlite"
    shutil.copyfile(FIXTURE, db)
    assert migrate(db, MIGRATIONS[:3]) == 3
    with sqlite3.connect(db) as conn:
        job_runs = conn.execute("SELECT * FROM job_run ORDER BY id").fetchall()
    engine = init_db(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST == 4
        assert conn.execute("SELECT * FROM job_run ORDER BY id").fetchall() == job_runs
    sync(engine, [row(1, "dana")])
    assert users_store.known_keys(engine) == {1: "dana"}
