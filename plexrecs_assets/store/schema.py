"""The one schema module: SQLite tables used by the Dagster assets and by the API.

The five tables of the product spec are created from the spec's DDL verbatim (``SPEC_DDL``),
so the on-disk schema is exactly the documented one; the SQLAlchemy ``Table`` objects below
mirror it for queries. The schema itself is created and changed only by the numbered
migrations in ``migrations.py``. Tables PlexRecs added later (``llm_usage``, ``tmdb_details_cache``,
``overseerr_request``) are plain SQLAlchemy tables.
"""
from __future__ import annotations

from sqlalchemy import (
    Column,

    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

SPEC_DDL = """
CREATE TABLE IF NOT EXISTS job_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  mode TEXT NOT NULL,
  status TEXT NOT NULL,
  error_msg TEXT
);
CREATE TABLE IF NOT EXISTS category_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL REFERENCES job_run(id),
  label TEXT NOT NULL,
  type TEXT NOT NULL,
  raw_json_path TEXT,
  resolved_json_path TEXT,
  pmm_movie_yaml_path TEXT,
  pmm_tv_yaml_path TEXT,
  status TEXT NOT NULL,
  error_msg TEXT
);
CREATE TABLE IF NOT EXISTS recommendation_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  label TEXT NOT NULL,
  tmdb_id INTEGER NOT NULL,
  media_type TEXT CHECK (media_type IN ('movie','tv')),
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_history_label_tmdb ON recommendation_history(label, tmdb_id, media_type);
CREATE TABLE IF NOT EXISTS title_resolution_cache (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  title TEXT NOT NULL,
  year INTEGER,
  media_type TEXT CHECK (media_type IN ('movie','tv')),
  tmdb_id INTEGER,
  imdb_id TEXT,
  country TEXT,
  runtime_min INTEGER,
  resolved_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS plex_inventory (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tmdb_id INTEGER NOT NULL,
  media_type TEXT CHECK (media_type IN ('movie','tv')),
  present_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_inventory_tmdb ON plex_inventory(tmdb_id, media_type);
"""

SPEC_TABLES = ("job_run", "category_run", "recommendation_history", "title_resolution_cache", "plex_inventory")

# Tables from the spec's DDL (mirrors; never used to CREATE them).
spec_metadata = MetaData()

job_run = Table(
    "job_run", spec_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("mode", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error_msg", Text),
    sqlite_autoincrement=True,
)

category_run = Table(
    "category_run", spec_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("job_run.id"), nullable=False),
    Column("label", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("raw_json_path", Text),
    Column("resolved_json_path", Text),
    Column("pmm_movie_yaml_path", Text),
    Column("pmm_tv_yaml_path", Text),
    Column("status", Text, nullable=False),
    Column("error_msg", Text),
    sqlite_autoincrement=True,
)

recommendation_history = Table(
    "recommendation_history", spec_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", Text, nullable=False),
    Column("tmdb_id", Integer, nullable=False),
    Column("media_type", Text),
    Column("first_seen_at", Text, nullable=False),
    Column("last_seen_at", Text, nullable=False),
    sqlite_autoincrement=True,
)

title_resolution_cache = Table(
    "title_resolution_cache", spec_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("year", Integer),
    Column("media_type", Text),
    Column("tmdb_id", Integer),
    Column("imdb_id", Text),
    Column("country", Text),
    Column("runtime_min", Integer),
    Column("resolved_at", Text, nullable=False),
    sqlite_autoincrement=True,
)

plex_inventory = Table(
    "plex_inventory", spec_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tmdb_id", Integer, nullable=False),
    Column("media_type", Text),
    Column("present_at", Text, nullable=False),
    sqlite_autoincrement=True,
)

# Tables PlexRecs added beyond the spec.
extra_metadata = MetaData()

llm_usage = Table(
    "llm_usage", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("category_run_id", Integer),
    Column("label", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("calls", Integer, nullable=False, default=0),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("recorded_at", Text, nullable=False),
    Index("ix_llm_usage_job", "job_id"),
)

tmdb_details_cache = Table(
    "tmdb_details_cache", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tmdb_id", Integer, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of clients.tmdb.TitleDetails
    Column("fetched_at", Text, nullable=False),
    UniqueConstraint("tmdb_id", "media_type", name="ux_tmdb_details"),
)

# Search, recommendations, similar, discover, genre and keyword pages, so a run soon after
# another makes no TMDb requests for them; entries older than TmdbFacts.LIST_TTL_S are refetched.
tmdb_list_cache = Table(
    "tmdb_list_cache", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cache_key", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("fetched_at", Text, nullable=False),
    UniqueConstraint("cache_key", name="ux_tmdb_list_cache"),
)

overseerr_request = Table(
    "overseerr_request", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("tmdb_id", Integer, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("outcome", Text, nullable=False),  # created | duplicate | no_seasons | failed
    Column("request_id", Integer),
    Column("detail", Text),
    Column("requested_at", Text, nullable=False),
)


# Links a Dagster run to the job_run row it produced, so the API and the CLI can report on
# the run they launched.
run_link = Table(
    "run_link", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("dagster_run_id", Text, nullable=False),
    Column("partition_keys", Text),  # JSON list of the categories in that run
    UniqueConstraint("dagster_run_id", name="ux_run_link_dagster"),
)

# Append-only log of what was published, per run: lets the blocking asset check prove that
# nothing repeats within 60 days even after recommendation_history has been updated.
recommendation_event = Table(
    "recommendation_event", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("tmdb_id", Integer, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("source", Text),  # llm | llm_retry | pool_fill
    Column("recommended_at", Text, nullable=False),
    # The target key (keys.TargetKey), added by migration 2; older rows were backfilled.
    Column("user_key", Text, nullable=False, server_default="household"),
    Column("category_id", Text),
    Index("ix_rec_event_label", "label", "tmdb_id", "media_type"),
    Index("ix_rec_event_target", "user_key", "category_id", "tmdb_id", "media_type"),
)

# What each run wrote for Kometa, per category and medium: how many picks, how many of them
# Plex already holds (all Kometa can show until more arrive), and which ids the file hands to
# Radarr/Sonarr (opt-in add_missing; the audit trail of that spending).
kometa_publication = Table(
    "kometa_publication", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("media_type", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("state", Text, nullable=False),  # collection | retired (no picks: Kometa deletes the collection)
    Column("items", Integer, nullable=False),
    Column("in_plex", Integer, nullable=False),
    Column("add_missing", Text, nullable=False),  # JSON list of TMDb ids handed to Radarr/Sonarr
    Column("written_at", Text, nullable=False),
    Index("ix_kometa_publication_job", "job_id"),
)

# Watched titles whose TMDb details the taste profile could not fetch within its per-run
# budget (tmdb.profile_fetch_per_run). The background fill job (tmdb_details_fill) works
# through them between runs, lowest priority number first: the enrichment order.
tmdb_fill_queue = Table(
    "tmdb_fill_queue", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("media_type", Text, nullable=False),
    Column("tmdb_id", Integer, nullable=False),
    Column("priority", Integer, nullable=False),  # position in the enrichment order
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("queued_at", Text, nullable=False),
    UniqueConstraint("media_type", "tmdb_id", name="ux_tmdb_fill_queue"),
    Index("ix_tmdb_fill_queue_priority", "attempts", "priority"),
)

# The Plex users PlexRecs recommends for, one row per Tautulli user ever synced
# (people/users.py, store/users.py). ``user_key`` is stable: a row is never deleted or
# re-keyed; a user Tautulli no longer lists (or the config leaves out) gets ``active`` 0.
# ``plays`` and ``last_play_at`` cover the last sync's history window (tautulli.lookback_days).
users = Table(
    "users", extra_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_key", Text, nullable=False),
    Column("tautulli_user_id", Integer, nullable=False),
    Column("username", Text, nullable=False),
    Column("friendly_name", Text),
    Column("email", Text),
    Column("is_admin", Integer, nullable=False, server_default=text("0")),
    Column("is_home_user", Integer, nullable=False, server_default=text("0")),
    Column("active", Integer, nullable=False, server_default=text("1")),
    Column("plays", Integer, nullable=False, server_default=text("0")),
    Column("last_play_at", Text),
    Column("synced_at", Text, nullable=False),
    UniqueConstraint("user_key", name="ux_users_user_key"),
    UniqueConstraint("tautulli_user_id", name="ux_users_tautulli_user_id"),
)

# Which target (user_key, category_id) a category_run row was for (per-person runs); the
# row's id is the category_run's.
category_run_target = Table(
    "category_run_target", extra_metadata,
    Column("category_run_id", Integer, primary_key=True, autoincrement=False),
    Column("job_id", Integer, nullable=False),
    Column("user_key", Text, nullable=False),
    Column("category_id", Text, nullable=False),
    Index("ix_category_run_target_job", "job_id"),
)
