"""Seven daily ``--as-of`` runs over the emulators (issue 11): every demo category stays full,
on topic (checked from the TMDb emulator's own records), and nothing comes back within 60
days after leaving."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from plexrecs_assets.config import load_app_config, load_categories
from plexrecs_assets.config import category_to_dict
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.video.rules import rule_violation, rules_for
from plexrecs_assets.runner import run_once

pytestmark = pytest.mark.slow

START = dt.date(2026, 12, 1)


def _tmdb_facts(suite, medium: str, tmdb_id: int) -> TitleFacts:
    """The title as the TMDb emulator describes it (not PlexRecs' own output)."""
    env = suite.env()
    body = httpx.get(f"{env['TMDB_API_BASE']}/{medium}/{tmdb_id}",
                     params={"api_key": env["TMDB_API_KEY"], "append_to_response": "keywords"}).json()
    kws = body["keywords"].get("keywords") or body["keywords"].get("results") or []
    return TitleFacts(tmdb_id=tmdb_id, medium=medium, title=body.get("title") or body.get("name"),
                      year=None, genres=tuple(g["name"] for g in body["genres"]),
                      keywords=tuple(k["name"] for k in kws))


def test_a_week_of_daily_runs_stays_full_on_topic_and_never_returns(demo_env, demo_suite):
    config = demo_env / "config"
    # The demo history does not change during a replay, so nothing gets watched; a 3-day
    # max_age on the three wide categories makes picks leave (days 4 and 7) within the week,
    # so rotation and the 60-day rule are exercised. True Crime keeps the default 7 days.
    import yaml
    doc = yaml.safe_load((config / "categories.yml").read_text(encoding="utf-8"))
    for entry in doc["categories"]:
        if entry["label"] != "True Crime":
            entry["rotation"] = {"max_age_days": 3}
    (config / "categories.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    rotated = 0
    categories = {c.label: category_to_dict(c) for c in load_categories(config)}
    allowed = load_app_config(config).recommender.allow_media_types
    left_on: dict[tuple[str, tuple[str, int]], dt.date] = {}
    previous: dict[str, set] = {}
    for day in range(7):
        today = START + dt.timedelta(days=day)
        summary = run_once(config, as_of=today.isoformat(), users=["household"])
        assert summary.status == "success", (today, summary.error)
        for c in summary.categories:
            path = next(f for f in c.files if f.endswith(".resolved.json"))
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
            items = doc["items"]
            assert len(items) >= 15, (today, c.label, doc.get("short"))
            seeds_path = Path(next(f for f in c.files if f.endswith(".raw.json")).replace(".raw.json", ".pool.json"))
            seeds = [TitleFacts.from_json(s) for s in json.loads(seeds_path.read_text(encoding="utf-8"))["seeds"]]
            category = categories[c.label]
            rules = rules_for(category, [m for m in category["media_types"] if m in allowed], seeds)
            for item in items:
                why = rule_violation(_tmdb_facts(demo_suite, item["medium"], item["tmdb_id"]), rules)
                assert why is None, (today, c.label, item["title"], why)
            keys = {(i["medium"], i["tmdb_id"]) for i in items}
            for key in keys - previous.get(c.label, set()):
                gone = left_on.get((c.label, key))
                assert gone is None or (today - gone).days >= 60, (today, c.label, key, "returned")
            for key in previous.get(c.label, set()) - keys:
                left_on[(c.label, key)] = today
                rotated += 1
            previous[c.label] = keys
            assert doc["rotation"]["kept"] + doc["rotation"]["added"] == len(items)
            if c.label == "True Crime" and day:
                assert doc["rotation"]["kept"] == 20  # nothing watched, not 7 days old: the collection stays
    assert rotated >= 3 * 2 * 15  # the three 3-day categories turned over twice
