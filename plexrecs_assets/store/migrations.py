"""Numbered schema migrations, applied at start (``init_db``) and recorded in ``schema_version``.

Each migration is a function of one stdlib ``sqlite3`` connection. All pending migrations run
in one ``BEGIN IMMEDIATE`` transaction: SQLite DDL is transactional, so a failure leaves the
database exactly as it was, and the write lock makes a second process starting at the same
time wait and then find nothing left to do. (SQLAlchemy's pysqlite driver commits DDL on its
own, which is why this module talks to sqlite3 directly.)

Rules for a new migration: append it to ``MIGRATIONS`` with the next number; never edit one
that has shipped; never change the five spec tables (their DDL is fixed by the product spec);
add columns or tables only. A database written before migrations existed (release 3933b5f)
has every table of migration 1 already, so migration 1 is idempotent (``IF NOT EXISTS``).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Sequence

from plexrecs_assets.keys import HOUSEHOLD, default_category_id
from plexrecs_assets.store.schema import SPEC_DDL


class SchemaTooNewError(RuntimeError):
    """The database was migrated by a newer PlexRecs than this one."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _statements(ddl: str) -> list[str]:
    return [s.strip() for s in ddl.split(";") if s.strip()]


# The tables PlexRecs had added beyond the spec, frozen as release 3933b5f created them
# (SQLAlchemy's DDL for schema.py at that commit), so a new database and an upgraded one
# end up with the same schema.
BASELINE_EXTRA_DDL = """
CREATE TABLE IF NOT EXISTS llm_usage (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	category_run_id INTEGER, 
	label TEXT NOT NULL, 
	model TEXT NOT NULL, 
	calls INTEGER NOT NULL, 
	prompt_tokens INTEGER NOT NULL, 
	completion_tokens INTEGER NOT NULL, 
	recorded_at TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_llm_usage_job ON llm_usage (job_id);
CREATE TABLE IF NOT EXISTS tmdb_details_cache (
	id INTEGER NOT NULL, 
	tmdb_id INTEGER NOT NULL, 
	media_type TEXT NOT NULL, 
	payload TEXT NOT NULL, 
	fetched_at TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ux_tmdb_details UNIQUE (tmdb_id, media_type)
);
CREATE TABLE IF NOT EXISTS tmdb_list_cache (
	id INTEGER NOT NULL, 
	cache_key TEXT NOT NULL, 
	payload TEXT NOT NULL, 
	fetched_at TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ux_tmdb_list_cache UNIQUE (cache_key)
);
CREATE TABLE IF NOT EXISTS overseerr_request (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	label TEXT NOT NULL, 
	tmdb_id INTEGER NOT NULL, 
	media_type TEXT NOT NULL, 
	outcome TEXT NOT NULL, 
	request_id INTEGER, 
	detail TEXT, 
	requested_at TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE IF NOT EXISTS run_link (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	dagster_run_id TEXT NOT NULL, 
	partition_keys TEXT, 
	PRIMARY KEY (id), 
	CONSTRAINT ux_run_link_dagster UNIQUE (dagster_run_id)
);
CREATE TABLE IF NOT EXISTS recommendation_event (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	label TEXT NOT NULL, 
	tmdb_id INTEGER NOT NULL, 
	media_type TEXT NOT NULL, 
	source TEXT, 
	recommended_at TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_rec_event_label ON recommendation_event (label, tmdb_id, media_type)
"""


def _baseline(conn: sqlite3.Connection) -> None:
    """1: the spec's five tables (verbatim DDL) and the extra tables of release 3933b5f."""
    for statement in _statements(SPEC_DDL) + _statements(BASELINE_EXTRA_DDL):
        conn.execute(statement)


def _event_target_key(conn: sqlite3.Connection) -> None:
    """2: ``recommendation_event`` gains the target key ``(user_key, category_id)``.

    Rows written before category ids existed belong to the household and to the default id
    of their label: release 3933b5f had no explicit ids, so that is exactly their id."""
    # Skip a column that exists: a store whose schema_version rows were emptied (e.g. a copy with
    # every table but the caches cleared) must still upgrade rather than fail.
    have = {row[1] for row in conn.execute("PRAGMA table_info(recommendation_event)")}
    if "user_key" not in have:
        conn.execute(f"ALTER TABLE recommendation_event ADD COLUMN user_key TEXT NOT NULL DEFAULT '{HOUSEHOLD}'")
    if "category_id" not in have:
        conn.execute("ALTER TABLE recommendation_event ADD COLUMN category_id TEXT")
    labels = [row[0] for row in conn.execute("SELECT DISTINCT label FROM recommendation_event WHERE category_id IS NULL")]
    conn.executemany("UPDATE recommendation_event SET category_id = ? WHERE label = ? AND category_id IS NULL",
                     [(default_category_id(label), label) for label in labels])
    conn.execute("CREATE INDEX IF NOT EXISTS ix_rec_event_target "
                 "ON recommendation_event (user_key, category_id, tmdb_id, media_type)")


KOMETA_AND_FILL_QUEUE_DDL = """
CREATE TABLE IF NOT EXISTS kometa_publication (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	label TEXT NOT NULL, 
	media_type TEXT NOT NULL, 
	path TEXT NOT NULL, 
	state TEXT NOT NULL, 
	items INTEGER NOT NULL, 
	in_plex INTEGER NOT NULL, 
	add_missing TEXT NOT NULL, 
	written_at TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS ix_kometa_publication_job ON kometa_publication (job_id);
CREATE TABLE IF NOT EXISTS tmdb_fill_queue (
	id INTEGER NOT NULL, 
	media_type TEXT NOT NULL, 
	tmdb_id INTEGER NOT NULL, 
	priority INTEGER NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	last_error TEXT, 
	queued_at TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ux_tmdb_fill_queue UNIQUE (media_type, tmdb_id)
);
CREATE INDEX IF NOT EXISTS ix_tmdb_fill_queue_priority ON tmdb_fill_queue (attempts, priority)
"""


def _kometa_and_fill_queue(conn: sqlite3.Connection) -> None:
    """3: ``kometa_publication`` (until now created outside the migrations, hence IF NOT
    EXISTS) and ``tmdb_fill_queue``, the background TMDb details fill's work list."""
    for statement in _statements(KOMETA_AND_FILL_QUEUE_DDL):
        conn.execute(statement)


USERS_DDL = """
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  user_key TEXT NOT NULL UNIQUE,
  tautulli_user_id INTEGER NOT NULL UNIQUE,
  username TEXT NOT NULL,
  friendly_name TEXT,
  email TEXT,
  is_admin INTEGER NOT NULL DEFAULT 0,
  is_home_user INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  plays INTEGER NOT NULL DEFAULT 0,
  last_play_at TEXT,
  synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS category_run_target (
  category_run_id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL,
  user_key TEXT NOT NULL,
  category_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_category_run_target_job ON category_run_target (job_id)
"""


def _users(conn: sqlite3.Connection) -> None:
    """4: ``users`` (the people per-person recommendations are for, keyed by a stable
    ``user_key``) and ``category_run_target`` (the target key of a category_run)."""
    for statement in _statements(USERS_DDL):
        conn.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: spec tables and the extra tables of release 3933b5f", _baseline),
    Migration(2, "recommendation_event: user_key and category_id", _event_target_key),
    Migration(3, "kometa_publication and tmdb_fill_queue", _kometa_and_fill_queue),
    Migration(4, "users and category_run_target", _users),
)
LATEST = MIGRATIONS[-1].version

SCHEMA_VERSION_DDL = """CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)"""


def current_version(conn: sqlite3.Connection) -> int:
    """The highest applied migration; 0 for a new database or one from before migrations."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if not exists:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def migrate(db_path: str | Path, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database at ``db_path`` (created if missing) up to the last migration; returns
    its version. Idempotent and safe to call from several processes at once."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    latest = migrations[-1].version
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # explicit BEGIN/COMMIT below
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA journal_mode=WAL")  # as connect() sets it; not allowed inside a transaction
        version = current_version(conn)
        if version == latest:
            return version
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = current_version(conn)  # another process may have migrated while we waited
            if version > latest:
                raise SchemaTooNewError(
                    f"{path}: database schema version {version} is newer than this PlexRecs knows ({latest}); "
                    "it was written by a newer release: upgrade PlexRecs (downgrades are not supported)")
            conn.execute(SCHEMA_VERSION_DDL)
            for migration in migrations:
                if migration.version > version:
                    migration.apply(conn)
                    conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                                 (migration.version, migration.name,
                                  datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
                    version = migration.version
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return version
    finally:
        conn.close()
