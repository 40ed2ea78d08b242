"""History edge cases through a real in-process run: a watched show that left the library, and
a deleted Tautulli user."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.suite import EmulatorSuite
from plexrecs_assets.runner import run_once
from plexrecs_emulators.world.loader import DEMO_WORLD_DIR

WILD_WILD_COUNTRY = ("tv", 77752)  # in the demo catalog, not in the demo library


def _edge_world(root: Path) -> Path:
    world = root / "edge-world"
    shutil.copytree(DEMO_WORLD_DIR, world)
    lines = (world / "history.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    template = next(r for r in rows if r["media_type"] == "episode")
    next_id = max(r["row_id"] for r in rows) + 1
    extra = []
    for n in (1, 2, 3):  # three episodes at 95%: a show the household watched, then removed from Plex
        row = dict(template)
        row.update({"reference_id": next_id, "row_id": next_id, "id": next_id, "rating_key": 771000 + n,
                    "parent_rating_key": 771000, "grandparent_rating_key": 770999,
                    "grandparent_title": "Wild Wild Country", "parent_title": "Season 1",
                    "title": f"Part {n}", "full_title": f"Wild Wild Country - Part {n}", "year": 2018,
                    "media_index": n, "parent_media_index": 1, "percent_complete": 95, "watched_status": 1,
                    "guid": f"plex://episode/5d9c0000000000000000bb0{n}",
                    "date": template["date"] + n * 600, "started": template["started"] + n * 600,
                    "stopped": template["stopped"] + n * 600})
        extra.append(row)
        next_id += 1
    users = json.loads((world / "users.json").read_text(encoding="utf-8"))
    gone = dict(users[0], row_id=len(users) + 1, user_id=9_999_001, username="gone", friendly_name="Gone",
                deleted_user=1)
    (world / "users.json").write_text(json.dumps([*users, gone]), encoding="utf-8")
    movie = next(r for r in rows if r["media_type"] == "movie")
    for n in range(4):  # a deleted user's plays stay in Tautulli's history
        extra.append(dict(movie, reference_id=next_id, row_id=next_id, id=next_id, user_id=gone["user_id"],
                          user="gone", friendly_name="Gone"))
        next_id += 1
    (world / "history.jsonl").write_text("\n".join(lines + [json.dumps(r) for r in extra]) + "\n",
                                         encoding="utf-8")
    return world


def test_removed_show_is_seen_and_deleted_users_plays_do_not_count(tmp_path, monkeypatch):
    with EmulatorSuite(_edge_world(tmp_path)) as suite:
        for key, value in secrets_env(suite.env()).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        monkeypatch.setenv("PLEXRECS_CONFIG_DIR", str(tmp_path / "config"))
        (tmp_path / "dagster_home").mkdir()
        write_demo_config(tmp_path / "config", tmp_path / "data", suite.env())
        summary = run_once(tmp_path / "config")
        assert summary.status == "success", summary.error
        with DagsterInstance.get() as instance:
            history = instance.get_latest_materialization_event(AssetKey("watch_history"))
    skipped = history.asset_materialization.metadata["skipped_rows"].value
    assert skipped.get("other_user") == 4, skipped

    pooled, published = set(), set()
    for c in summary.categories:
        resolved = Path(next(f for f in c.files if f.endswith(".resolved.json")))
        published |= {(i["medium"], i["tmdb_id"]) for i in json.loads(resolved.read_text())["items"]}
        pool_file = resolved.with_name(resolved.name.replace(".resolved.json", ".pool.json"))
        if pool_file.exists():
            pooled |= {(p["facts"]["medium"], p["facts"]["tmdb_id"])
                       for p in json.loads(pool_file.read_text())["pool"]}
    assert pooled, "no candidate pools were written"
    assert WILD_WILD_COUNTRY not in pooled and WILD_WILD_COUNTRY not in published
