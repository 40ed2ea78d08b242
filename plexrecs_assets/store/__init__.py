"""SQLite store: engine set-up (WAL), schema creation and small query helpers."""
from plexrecs_assets.store.db import connect, init_db, utcnow_iso  # noqa: F401
