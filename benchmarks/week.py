"""The "week" benchmark (issue 11): seven daily ``plexrecs run --as-of`` runs of the demo
config on a fresh data dir. Per category and day it reports the items published, the share
that obeys the category's rules (checked from the TMDb emulator's records, not from
PlexRecs' output), how many were kept, added and removed, and the TMDb requests made.
Target: 100% on topic and at least 15 items in every category on every day."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import httpx

from benchmarks.harness import WORK_DIR, Scenario
from plexrecs_assets.config import category_to_dict, load_app_config, load_categories
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.video.rules import rule_violation, rules_for
from plexrecs_emulators.suite import EmulatorSuite

DAYS = 7
MIN_ITEMS = 15
START = dt.date(2026, 12, 1)


def tmdb_record(env: dict, medium: str, tmdb_id: int, cache: dict) -> TitleFacts | None:
    key = (medium, tmdb_id)
    if key not in cache:
        response = httpx.get(f"{env['TMDB_API_BASE']}/{medium}/{tmdb_id}", timeout=10,
                             params={"api_key": env["TMDB_API_KEY"], "append_to_response": "keywords"})
        if response.status_code != 200:
            cache[key] = None
        else:
            body = response.json()
            kws = body.get("keywords", {}).get("keywords") or body.get("keywords", {}).get("results") or []
            cache[key] = TitleFacts(tmdb_id=tmdb_id, medium=medium, title=body.get("title") or body.get("name") or "",
                                    year=None, genres=tuple(g["name"] for g in body.get("genres") or []),
                                    keywords=tuple(k["name"] for k in kws))
    return cache[key]


def summarize(days: list[dict]) -> dict:
    """Targets over the per-day rows (pure; unit tested)."""
    worst_items = min((r["items"] for r in days), default=0)
    worst_share = min((r["on_topic_share"] for r in days), default=0.0)
    return {"min_items": worst_items, "min_on_topic_share": worst_share,
            "met": bool(days) and worst_items >= MIN_ITEMS and worst_share == 1.0
            and all(r["exit_code"] == 0 for r in days)}


def bench_week() -> dict:
    suite = EmulatorSuite().start()
    try:
        env = suite.env()
        scenario = Scenario(WORK_DIR / "week", env, categories=4).write()
        categories = {c.label: category_to_dict(c) for c in load_categories(scenario.config_dir)}
        allowed = load_app_config(scenario.config_dir, env={}).recommender.allow_media_types
        db = Path(load_app_config(scenario.config_dir, env={}).paths.db_path)
        cache: dict = {}
        rows = []
        for day in range(DAYS):
            today = (START + dt.timedelta(days=day)).isoformat()
            run = scenario.run(["--as-of", today])
            conn = sqlite3.connect(db)
            conn.row_factory = sqlite3.Row
            job_id = conn.execute("select max(id) from job_run").fetchone()[0]
            for c in conn.execute("select * from category_run where job_id = ? order by id", (job_id,)):
                doc, seeds = {}, []
                if c["resolved_json_path"] and Path(c["resolved_json_path"]).exists():
                    doc = json.loads(Path(c["resolved_json_path"]).read_text(encoding="utf-8"))
                if c["raw_json_path"]:
                    pool = Path(c["raw_json_path"].replace(".raw.json", ".pool.json"))
                    if pool.exists():
                        seeds = [TitleFacts.from_json(s) for s in json.loads(pool.read_text(encoding="utf-8"))["seeds"]]
                category = categories[c["label"]]
                rules = rules_for(category, [m for m in category["media_types"] if m in allowed], seeds)
                items = doc.get("items") or [] if c["status"] == "success" else []
                on_topic = 0
                for i in items:
                    record = tmdb_record(env, i["medium"], i["tmdb_id"], cache)
                    on_topic += record is not None and rule_violation(record, rules) is None
                rotation = doc.get("rotation") or {}
                rows.append({"day": today, "category": c["label"], "status": c["status"], "items": len(items),
                             "on_topic_share": round(on_topic / len(items), 3) if items else 0.0,
                             "kept": rotation.get("kept", 0), "added": rotation.get("added", 0),
                             "removed": len(rotation.get("removed") or []),
                             "tmdb_requests": (doc.get("pool_stats") or {}).get("tmdb_requests"),
                             "short": (doc.get("short") or {}).get("reason"), "exit_code": run.exit_code})
            conn.close()
        return {"days": rows, **summarize(rows), "target_min_items": MIN_ITEMS}
    finally:
        suite.stop()
