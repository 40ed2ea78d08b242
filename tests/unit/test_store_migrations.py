"""Numbered migrations on real SQLite files: a new store, and the store release 3933b5f wrote
(tests/fixtures/release-3933b5f.sqlite, see its README)."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from plexrecs_assets.keys import default_category_id
from plexrecs_assets.store.migrations import LATEST, MIGRATIONS, Migration, SchemaTooNewError, migrate
from plexrecs_assets.store.schema import SPEC_DDL, SPEC_TABLES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-3933b5f.sqlite"


def _schema(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return {name: sql for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'sqlite_sequence'")}


def _rows(db: Path, table: str, columns: list[str] | None = None) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return conn.execute(f'SELECT {cols} FROM "{table}" ORDER BY rowid').fetchall()


def _columns(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def _spec_ddl_as_stored() -> dict[str, str]:
    """SPEC_DDL's statements as sqlite_master stores them (without IF NOT EXISTS)."""
    out = {}
    for statement in (s.strip() for s in SPEC_DDL.split(";") if s.strip()):
        stored = statement.replace(" IF NOT EXISTS", "")
        out[stored.split()[2] if stored.startswith("CREATE TABLE") else stored.split()[3]] = stored
    return out


@pytest.fixture
def release_db(tmp_path) -> Path:
    copy = tmp_path / "plexrecs.sqlite"
    shutil.copyfile(FIXTURE, copy)
    return copy


def test_new_store_gets_every_migration_and_the_spec_ddl_verbatim(tmp_path):
    db = tmp_path / "new.sqlite"
    assert migrate(db) == LATEST
    schema = _schema(db)
    for name, ddl in _spec_ddl_as_stored().items():
        assert schema[name] == ddl
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")] == \
            [m.version for m in MIGRATIONS]


def test_release_store_upgrades_in_place_without_losing_a_row(release_db):
    before_schema = _schema(release_db)
    tables = [t for t in before_schema if not t.startswith(("ix_", "ux_", "sqlite_autoindex"))
              and before_schema[t].startswith("CREATE TABLE")]
    before = {t: (_columns(release_db, t), _rows(release_db, t)) for t in tables}
    assert len(before["recommendation_history"][1]) == 80 and len(before["recommendation_event"][1]) == 80

    assert migrate(release_db) == LATEST

    for table, (columns, rows) in before.items():
        assert _rows(release_db, table, columns) == rows, f"{table} lost or changed rows"
    after_schema = _schema(release_db)
    for table in SPEC_TABLES:  # the spec's tables keep their exact DDL
        assert after_schema[table] == before_schema[table]
    events = _rows(release_db, "recommendation_event", ["label", "user_key", "category_id"])
    assert {(label, user, cid) for label, user, cid in events} == {
        (label, "household", default_category_id(label)) for label, _, _ in events}
    assert ("🍿🎬", "household", "category-23114a") in events


def test_upgraded_store_has_the_same_schema_as_a_new_one(release_db, tmp_path):
    migrate(release_db)
    migrate(tmp_path / "new.sqlite")
    assert _schema(release_db) == _schema(tmp_path / "new.sqlite")


def test_migrate_is_idempotent(release_db):
    migrate(release_db)
    snapshot = {t: _rows(release_db, t) for t in ("schema_version", "recommendation_event")}
    assert migrate(release_db) == LATEST
    assert {t: _rows(release_db, t) for t in snapshot} == snapshot


def test_a_failing_migration_leaves_the_store_untouched(release_db):
    def broken(conn):
        conn.execute("ALTER TABLE recommendation_event ADD COLUMN half_done TEXT")
        raise RuntimeError("boom")

    before = _schema(release_db)
    with pytest.raises(RuntimeError, match="boom"):
        migrate(release_db, (*MIGRATIONS, Migration(LATEST + 1, "broken", broken)))
    assert _schema(release_db) == before  # not even migrations 1..LATEST were kept: one transaction
    assert migrate(release_db) == LATEST


def test_a_store_from_a_newer_release_is_refused(release_db):
    migrate(release_db)
    with sqlite3.connect(release_db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'from the future', '2030-01-01T00:00:00Z')", (LATEST + 5,))
    with pytest.raises(SchemaTooNewError, match=f"version {LATEST + 5} is newer"):
        migrate(release_db, (*MIGRATIONS, Migration(LATEST + 1, "next", lambda conn: None)))


def test_a_store_whose_version_rows_were_emptied_still_upgrades(release_db):
    migrate(release_db)
    with sqlite3.connect(release_db) as conn:
        conn.execute("DELETE FROM schema_version")
    assert migrate(release_db) == LATEST
    assert _columns(release_db, "recommendation_event")[-2:] == ["user_key", "category_id"]


def test_migration_4_adds_users_and_category_run_target(tmp_path):
    db = tmp_path / "new.sqlite"
    assert LATEST == 4 and migrate(db) == 4
    assert _columns(db, "users") == [
        "id", "user_key", "tautulli_user_id", "username", "friendly_name", "email", "is_admin", "is_home_user",
        "active", "plays", "last_play_at", "synced_at"]
    assert _columns(db, "category_run_target") == ["category_run_id", "job_id", "user_key", "category_id"]
    schema = _schema(db)
    assert "ix_category_run_target_job" in schema
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO users (user_key, tautulli_user_id, username, synced_at) VALUES ('dana', 1, 'dana', 'x')")
        row = conn.execute("SELECT is_admin, is_home_user, active, plays, last_play_at FROM users").fetchone()
        assert row == (0, 0, 1, 0, None)
        for duplicate in ("('dana', 2, 'other', 'x')", "('other', 1, 'other', 'x')"):  # both keys are unique
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(f"INSERT INTO users (user_key, tautulli_user_id, username, synced_at) VALUES {duplicate}")


def test_release_store_upgrades_to_version_4_with_the_new_tables(release_db):
    before = {t: _rows(release_db, t) for t in ("job_run", "category_run", "recommendation_history", "run_link")}
    assert "users" not in _schema(release_db)
    assert migrate(release_db) == 4
    schema = _schema(release_db)
    assert {"users", "category_run_target", "ix_category_run_target_job"} <= set(schema)
    assert {t: _rows(release_db, t) for t in before} == before
    assert _rows(release_db, "users") == [] and _rows(release_db, "category_run_target") == []
    with sqlite3.connect(release_db) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [1, 2, 3, 4]
