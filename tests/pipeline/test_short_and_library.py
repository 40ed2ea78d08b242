"""Short categories and ``mode: library`` over the emulators (issue 11): a thin category
publishes what it has and says why, an empty one is not success and costs no LLM tokens,
and a library category fills at once from owned, unwatched titles."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_assets.demo import write_demo_config
from plexrecs_assets.runner import run_once

CATEGORIES = {"categories": [
    # The demo world holds only a few unowned Documentary + Crime + History titles.
    {"label": "Crime History", "type": "genre", "media_types": ["movie", "tv"],
     "tmdb_filters": {"include_genres": ["Documentary", "Crime", "History"]}},
    # No title is both a Western and Animation and Documentary.
    {"label": "Nothing Fits", "type": "genre", "media_types": ["movie"],
     "tmdb_filters": {"include_genres": ["Western", "Animation", "Documentary"]}},
    {"label": "Owned Comedies", "type": "genre", "media_types": ["movie"], "mode": "library",
     "tmdb_filters": {"include_genres": ["Comedy"]}},
]}


def test_short_empty_and_library_categories(demo_env, demo_suite):
    source = demo_env / "cats.yml"
    source.write_text(yaml.safe_dump(CATEGORIES, allow_unicode=True), encoding="utf-8")
    write_demo_config(demo_env / "config", demo_env / "data", demo_suite.env(), categories_file=source)
    summary = run_once(demo_env / "config")
    by_label = {c.label: c for c in summary.categories}
    assert summary.status == "partial"

    thin = by_label["Crime History"]
    assert thin.status == "success" and 0 < thin.published < 20
    assert thin.short and f"only {thin.published} of 20" in thin.short
    doc = json.loads(Path(next(f for f in thin.files if f.endswith(".resolved.json"))).read_text(encoding="utf-8"))
    assert doc["short"]["published"] == thin.published
    assert all({"Documentary", "Crime", "History"} <= set(i["genres"]) for i in doc["items"])

    empty = by_label["Nothing Fits"]
    assert empty.status == "failed" and empty.error.startswith("short: ") and empty.published == 0
    conn = sqlite3.connect(demo_env / "data" / "plexrecs.sqlite")
    calls = conn.execute("select coalesce(sum(calls), 0) from llm_usage where label = 'Nothing Fits'").fetchone()[0]
    assert calls == 0
    requested = {r[0] for r in conn.execute("select label from overseerr_request")}
    assert "Nothing Fits" not in requested and "Owned Comedies" not in requested

    library = by_label["Owned Comedies"]
    assert library.status == "success" and library.published == 20 and not library.short
    owned = {(m, i) for m, i in conn.execute("select media_type, tmdb_id from plex_inventory")}
    items = json.loads(Path(next(f for f in library.files if f.endswith(".resolved.json")))
                       .read_text(encoding="utf-8"))["items"]
    assert all((i["medium"], i["tmdb_id"]) in owned and "Comedy" in i["genres"] for i in items)

    with TestClient(create_app(config_dir=demo_env / "config"), base_url="http://127.0.0.1") as client:
        run = client.get("/v1/runs/latest").json()
    shorts = {c["label"]: c["short"] for c in run["categories"]}
    assert shorts["Crime History"] == thin.short and shorts["Nothing Fits"] and shorts["Owned Comedies"] is None
