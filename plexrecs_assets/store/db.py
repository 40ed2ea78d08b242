"""Engine set-up for the SQLite store.

WAL mode lets the API read while a run writes; ``busy_timeout`` makes writers wait for each
other instead of failing. Every connection enforces foreign keys.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from plexrecs_assets.store.migrations import migrate
from plexrecs_assets.store.schema import extra_metadata

_ENGINES: dict[str, Engine] = {}


def utcnow_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _on_connect(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    _common_pragmas(cur)


def _on_connect_readonly(dbapi_conn, _record) -> None:
    # A read-only connection cannot switch the journal mode; writers set WAL on creation.
    _common_pragmas(dbapi_conn.cursor())


def _common_pragmas(cur) -> None:
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def connect(db_path: str | Path, *, readonly: bool = False) -> Engine:
    """Return a (cached) engine for ``db_path``. Read-only engines never create the file."""
    path = Path(db_path).resolve()
    key = f"{path}|{'ro' if readonly else 'rw'}"
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    if readonly:
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _on_connect_readonly if readonly else _on_connect)
    _ENGINES[key] = engine
    return engine


def init_db(db_path: str | Path) -> Engine:
    """Apply the numbered migrations (``migrations.py``: the spec's tables with their verbatim
    DDL, PlexRecs' extra tables, later changes) and return the engine; idempotent."""
    migrate(db_path)
    engine = connect(db_path)
    # Transitional safety net: a table declared in schema.py without a migration yet is still
    # created (existing tables are left alone). New columns always need a migration.
    extra_metadata.create_all(engine)
    return engine


def dispose_all() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()
