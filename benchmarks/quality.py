"""``make bench-quality``: top-N quality of PlexRecs' per-person "For you" list against four
reference rankers, on a world with a hidden tail (issue 14).

    python -m benchmarks.quality [--world DIR] [--users N]

1. Load the world (default: the bundled 240-user ``multiuser`` world) and hide each user's last
   10 distinct titles, by time (``quality_rankers.split_last_n``).
2. Serve, through the real emulators over loopback, the visible history only, and an inventory
   that holds the whole catalog, so ``mode: library`` can recommend anything unwatched.
3. Run the real product (a ``plexrecs run`` subprocess) with one category, "For you"
   (``audience: each_user``, ``mode: library``, ``type: taste``, 20 picks).
4. Fit random, most-popular, item-kNN (cosine) and EASE (λ tuned on a validation split) on the
   same visible history, and score everything against the hidden titles: HitRate@20,
   Recall@20, NDCG@20 and catalog coverage.
5. Write ``benchmarks/quality.json`` and the table in ``docs/performance.md``.

Offline: only loopback HTTP to the bundled emulators. The world is synthetic, so its numbers
show that the harness works; plug a real export in with ``--world``.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import sqlite3
import sys
import time
from pathlib import Path

import yaml

from benchmarks.harness import REPO_DIR, WORK_DIR, fresh_dir, timed_run
from benchmarks.quality_rankers import (
    EaseRanker, ItemKnnRanker, PopularRanker, RandomRanker, evaluate, interactions_from_history, split_last_n,
    tune_ease)
from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.world.loader import InventoryItem, World, load_world

DEFAULT_WORLD = REPO_DIR / "plexrecs_emulators" / "world" / "multiuser"
RESULTS = REPO_DIR / "benchmarks" / "quality.json"
DOC = REPO_DIR / "docs" / "performance.md"
HIDDEN_PER_USER = 10
K = 20
CATEGORY_ID = "for-you"
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"
NEW_KEY_BASE = 10_000_000  # rating keys of the catalog titles the world's library lacks


def hidden_world(world: World, users: list[str] | None = None) -> tuple[World, list, dict[str, set]]:
    """The world the product sees: the visible history only, the whole catalog in the library.
    Returns it with the visible interactions and each evaluated user's hidden items."""
    inventory = list(world.inventory)
    owned = {(i.medium, i.tmdb_id) for i in inventory}
    for title in sorted(world.titles.values(), key=lambda t: (t.medium, t.tmdb_id)):
        if title.medium == "movie" and ("movie", title.tmdb_id) not in owned:
            inventory.append(InventoryItem(rating_key=str(NEW_KEY_BASE + title.tmdb_id), section_id="1",
                                           media_type="movie", tmdb_id=title.tmdb_id, title=title.title,
                                           year=title.year, agent="plex", added_at=0))
    rows = [r for r in world.history if isinstance(r, dict) and (users is None or r.get("user") in users)]
    interactions = interactions_from_history(rows, world.inventory)
    visible, hidden = split_last_n(interactions, n=HIDDEN_PER_USER)
    by_key = {str(i.rating_key): (i.medium, i.tmdb_id) for i in world.inventory if i.tmdb_id is not None}

    def hides(row: dict) -> bool:
        key = row.get("rating_key") if row.get("media_type", "movie") == "movie" else row.get("grandparent_rating_key")
        return by_key.get(str(key)) in hidden.get(str(row.get("user")), ())

    kept_users = [u for u in world.users if users is None or u.get("username") in users]
    served = dataclasses.replace(world, inventory=inventory, users=kept_users,
                                 history=[r for r in rows if not hides(r)])
    return served, visible, hidden


def for_you_category() -> dict:
    return {"id": CATEGORY_ID, "label": "For you", "type": "taste", "audience": "each_user", "mode": "library",
            "media_types": ["movie"], "recs": K, "max_tmdb_requests": 5000}


def write_config(root: Path, emulator_env: dict, users: list[str] | None) -> Path:
    cats = root / "categories.source.yml"
    cats.write_text(yaml.safe_dump({"categories": [for_you_category()]}, sort_keys=False), encoding="utf-8")
    config_dir = root / "config"
    write_demo_config(config_dir, root / "data", emulator_env, categories_file=cats, recs_per_category=K)
    app_yml = config_dir / "app.yml"
    app = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
    # The whole visible history counts, and every title is described in this one run.
    app["tautulli"]["lookback_days"] = "all"
    app.setdefault("tmdb", {}).update({"profile_fetch_per_run": 10000, "background_fill": False})
    if users:
        app["users"] = {"include": users}
    app_yml.write_text(yaml.safe_dump(app, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return config_dir


def product_lists(root: Path) -> dict[str, list[tuple[str, int]]]:
    """username → the items of their latest "For you" list, best first."""
    with sqlite3.connect(root / "data" / "plexrecs.sqlite") as conn:
        keys = dict(conn.execute("SELECT user_key, username FROM users"))
    runs = sorted((root / "data" / "recommendations" / "runs").glob("*/users"))
    lists: dict[str, list[tuple[str, int]]] = {}
    for users_dir in runs:
        for path in users_dir.glob(f"*/{CATEGORY_ID}.resolved.json"):
            doc = json.loads(path.read_text(encoding="utf-8"))
            username = keys.get(doc.get("user_key") or path.parent.name)
            if username:
                lists[username] = [(i["medium"], int(i["tmdb_id"])) for i in doc["items"]]
    return lists


def run_product(served: World, users: list[str] | None) -> tuple[dict, dict]:
    from plexrecs_emulators.suite import EmulatorSuite

    root = fresh_dir(WORK_DIR / "quality")
    with EmulatorSuite(served) as suite:
        config_dir = write_config(root, suite.env(), users)
        env = {k: v for k, v in os.environ.items() if k not in ("PLEXRECS_CONFIG_DIR", "DAGSTER_HOME")}
        env.update(secrets_env(suite.env()), DAGSTER_HOME=str(root / "dagster_home"), PLEXRECS_CONFIG_DIR=str(config_dir))
        result = timed_run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(config_dir),
                            "--category", CATEGORY_ID], env=env, log=root / "run.log")
    run = {"wall_s": round(result.wall_s, 1), "exit_code": result.exit_code, "max_rss_mb": round(result.max_rss_mb),
           "log": str(result.log.relative_to(REPO_DIR))}
    return product_lists(root), run


def score_all(world: World, users: list[str] | None, *, with_product: bool = True) -> dict:
    served, visible, hidden = hidden_world(world, users)
    catalog = sorted({(t.medium, t.tmdb_id) for t in world.titles.values() if t.medium == "movie"})
    rankers: dict[str, object] = {"random": RandomRanker(seed=7).fit(visible, catalog),
                                  "most popular": PopularRanker().fit(visible, catalog),
                                  "item-kNN (cosine)": ItemKnnRanker().fit(visible, catalog)}
    started = time.perf_counter()
    ease, lam = tune_ease(visible, catalog)
    rankers[f"EASE (λ={lam:g})"] = ease
    ease_s = time.perf_counter() - started
    rows = {}
    for name, ranker in rankers.items():
        recs = {u: ranker.recommend(u, K) for u in hidden}
        rows[name] = evaluate(recs, hidden, len(catalog), k=K)
    run = None
    if with_product:
        lists, run = run_product(served, users)
        rows["PlexRecs \"For you\""] = evaluate({u: lists.get(u, []) for u in hidden}, hidden, len(catalog), k=K)
        run["users_with_a_list"] = sum(1 for u in hidden if lists.get(u))
    return {"world": str(world.path), "users": len(served.users), "evaluated_users": len(hidden),
            "catalog": len(catalog), "hidden_per_user": HIDDEN_PER_USER, "k": K, "ease_tuning_s": round(ease_s, 1),
            "product_run": run, "rankers": rows}


def table(result: dict) -> str:
    lines = [f"| ranker | HitRate@{K} | Recall@{K} | NDCG@{K} | coverage |", "|---|---|---|---|---|"]
    for name, m in result["rankers"].items():
        lines.append(f"| {name} | {m['hit_rate']:.3f} | {m['recall']:.3f} | {m['ndcg']:.3f} | {m['coverage']:.3f} |")
    return "\n".join(lines)


def write_doc(result: dict) -> None:
    run = result.get("product_run") or {}
    section = "\n".join([
        BEGIN,
        f"Measured {result['measured_at']} on {result['machine']}: world `{Path(result['world']).name}`, "
        f"{result['users']} users ({result['evaluated_users']} evaluated), {result['catalog']} titles, "
        f"the last {HIDDEN_PER_USER} distinct titles of each user hidden"
        + (f"; the product run took {run['wall_s']} s (exit {run['exit_code']}), "
           f"{run.get('users_with_a_list', 0)} users got a list." if run else "."),
        "",
        table(result),
        END])
    text = DOC.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Recommendation quality\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, default=DEFAULT_WORLD, help="a world directory (default: multiuser)")
    parser.add_argument("--users", type=int, default=None, help="evaluate only the first N users (a quick run)")
    parser.add_argument("--no-product", action="store_true", help="reference rankers only (no plexrecs run)")
    args = parser.parse_args(argv)
    world = load_world(args.world)
    users = None
    if args.users:
        users = sorted(u["username"] for u in world.users)[:args.users]
    result = score_all(world, users, with_product=not args.no_product)
    result["measured_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    result["machine"] = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    write_doc(result)
    print(table(result))
    run = result.get("product_run")
    return 0 if run is None or run["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
