"""The store release 3933b5f wrote (tests/fixtures/release-3933b5f.sqlite) upgrades in place on
the next ``plexrecs run`` and its 60-day history still excludes titles. Real emulators, a real
SQLite file, a real Dagster instance."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from plexrecs_assets.config import load_app_config
from plexrecs_assets.store.migrations import LATEST
from plexrecs_assets.demo import REPO_CONFIG_DIR, write_demo_config
from plexrecs_assets.runner import run_once

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-3933b5f.sqlite"
# The categories the fixture was generated with (its README): the repo's four plus an emoji label.
EMOJI_CATEGORY = '''  - label: "🍿🎬"
    type: "keyword"
    media_types: ["movie","tv"]
    mood_keywords: ["gentle","uplifting"]
'''


def _age_to_today(db: Path) -> None:
    """Move the fixture's timestamps forward so its newest run happened just now: the 60-day
    window is measured from today's clock, and the fixture must never age out of it."""
    with sqlite3.connect(db) as conn:
        newest = conn.execute("SELECT MAX(last_seen_at) FROM recommendation_history").fetchone()[0]
        shift = datetime.now(timezone.utc) - datetime.strptime(newest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        seconds = f"{int(shift.total_seconds()) - 60:+d} seconds"
        for table, columns in (("recommendation_history", ("first_seen_at", "last_seen_at")),
                               ("recommendation_event", ("recommended_at",))):
            sets = ", ".join(f"{c} = strftime('%Y-%m-%dT%H:%M:%SZ', {c}, ?)" for c in columns)
            conn.execute(f"UPDATE {table} SET {sets}", (seconds,) * len(columns))


def test_release_store_upgrades_on_the_next_run_and_keeps_excluding(demo_suite, demo_env):
    categories = demo_env / "categories.yml"
    categories.write_text((REPO_CONFIG_DIR / "categories.yml").read_text(encoding="utf-8") + EMOJI_CATEGORY,
                          encoding="utf-8")
    config_dir = demo_env / "config"
    write_demo_config(config_dir, demo_env / "data", demo_suite.env(), categories_file=categories, recs_per_category=8)
    app = load_app_config(config_dir)
    db = Path(app.paths.db_path)
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE, db)
    _age_to_today(db)
    with sqlite3.connect(db) as conn:
        history_before = conn.execute("SELECT id, label, tmdb_id, media_type, first_seen_at FROM recommendation_history "
                                      "ORDER BY id").fetchall()
        counts_before = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                         for t in ("job_run", "category_run", "recommendation_event", "plex_inventory",
                                   "title_resolution_cache", "tmdb_details_cache", "llm_usage", "run_link")}

    summary = run_once(config_dir, users=["household"])

    assert summary.status == "success", summary.error
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST
    history_after = {r[0]: r[1:] for r in conn.execute(
        "SELECT id, label, tmdb_id, media_type, first_seen_at FROM recommendation_history")}
    for row in history_before:  # no history row lost, none restarted its 60 days
        assert history_after[row[0]] == row[1:]
    for table, count in counts_before.items():
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] >= count, table
    assert [r[0] for r in conn.execute("SELECT id FROM job_run ORDER BY id")][:2] == [1, 2]
    # The next run publishes nothing its 60-day history holds, for every label, emoji included.
    earlier = {}
    for _, label, tmdb_id, media_type, _ in history_before:
        earlier.setdefault(label, set()).add((media_type, tmdb_id))
    published = 0
    for label, path in conn.execute("SELECT label, resolved_json_path FROM category_run WHERE job_id = ?",
                                    (summary.job_ids[-1],)):
        items = json.loads(Path(path).read_text(encoding="utf-8"))["items"]
        published += len(items)
        assert not {(i["medium"], i["tmdb_id"]) for i in items} & earlier[label], label
    assert published and set(earlier) == {c.label for c in summary.categories}
    # The new run's events carry the target key.
    assert conn.execute("SELECT DISTINCT user_key, category_id FROM recommendation_event WHERE label = '🍿🎬'"
                        ).fetchall() == [("household", "category-23114a")]

