"""The generated multi-user benchmark world (issue 14): it loads, its titles are real, its
rows are Tautulli rows, it is reproducible, and the reference rankers order as they should."""
from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from plexrecs_assets.video.history import roll_up_history
from plexrecs_emulators.library import Library
from plexrecs_emulators.tautulli import HISTORY_DEFAULTS, TautulliEmulator
from plexrecs_emulators.world.build_multiuser import MULTIUSER_WORLD_DIR, build_world
from plexrecs_emulators.world.loader import DEMO_WORLD_DIR, World, load_world

# benchmarks/ is a repo folder run as `python -m benchmarks.run`, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.quality_rankers import (  # noqa: E402
    EaseRanker, ItemKnnRanker, PopularRanker, RandomRanker, evaluate, interactions_from_history,
    split_last_n, tune_ease,
)

NOW = 1_900_000_000.0
DAY = 86_400
SHARED_CSV = Path("/work/shared/data/tmdb-movies.csv")
USER_KEYS = [
    "row_id", "user_id", "username", "friendly_name", "thumb", "email", "is_active", "is_admin",
    "is_home_user", "is_allow_sync", "is_restricted", "do_notify", "keep_history", "allow_guest",
    "shared_libraries", "filter_all", "filter_movies", "filter_tv", "filter_music", "filter_photos",
]


@pytest.fixture(scope="module")
def world() -> World:
    return load_world(MULTIUSER_WORLD_DIR, now=NOW)


def source_rows() -> dict[int, dict]:
    """The TMDB 5000 snapshot rows by id (the demo's movies.csv is that file, unedited)."""
    rows: dict[int, dict] = {}
    for path in (DEMO_WORLD_DIR / "movies.csv", SHARED_CSV):
        if path.exists():
            with path.open(newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    assert rows.setdefault(int(row["tmdb_id"]), row) == row, f"{path}: differs"
    return rows


def test_users_are_at_least_200_tautulli_rows(world: World) -> None:
    users = world.users
    assert len(users) >= 200
    assert all(list(u) == USER_KEYS for u in users)
    assert all(re.fullmatch(r"viewer-\d{3}", u["username"]) for u in users)
    assert len({u["user_id"] for u in users}) == len(users)
    assert len({u["username"] for u in users}) == len(users)
    assert all(isinstance(u["user_id"], int) and not isinstance(u["user_id"], bool) for u in users)
    assert sum(u["is_admin"] for u in users) == 1
    assert all(u["shared_libraries"] == ["1"] for u in users)


def test_every_title_is_real_and_copied_verbatim(world: World) -> None:
    source = source_rows()
    assert 2500 <= len(world.titles) <= 3000
    assert all(t.medium == "movie" for t in world.titles.values())
    with (MULTIUSER_WORLD_DIR / "movies.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert row == source[int(row["tmdb_id"])]
    assert not list(MULTIUSER_WORLD_DIR.glob("series*.csv"))


def test_inventory_is_the_whole_catalog(world: World) -> None:
    inv = world.inventory
    assert len({i.rating_key for i in inv}) == len(inv)
    assert {("movie", i.tmdb_id) for i in inv} == set(world.titles)
    assert len(inv) == len(world.titles)
    assert all(i.agent == "plex" and i.section_id == "1" and i.media_type == "movie" for i in inv)
    for i in inv:
        t = world.titles[("movie", i.tmdb_id)]
        assert (i.title, i.year) == (t.title, t.year)


def test_history_rows_are_compact_tautulli_rows_into_the_inventory(world: World) -> None:
    by_key = {i.rating_key: i for i in world.inventory}
    users = {u["user_id"]: u for u in world.users}
    source = source_rows()
    for row in world.history:
        assert set(row) <= set(HISTORY_DEFAULTS), set(row) - set(HISTORY_DEFAULTS)
        assert row["media_type"] == "movie"
        item = by_key[str(row["rating_key"])]
        assert (row["title"], row["year"]) == (item.title, item.year)
        assert ("movie", item.tmdb_id) in world.titles and item.tmdb_id in source
        user = users[row["user_id"]]
        assert (row["user"], row["friendly_name"]) == (user["username"], user["friendly_name"])
        assert 0 <= row["percent_complete"] <= 100
        assert row["watched_status"] in (0, 0.5, 1)
        assert row["started"] < row["stopped"]


def test_the_tautulli_emulator_serves_complete_rows(world: World) -> None:
    emulator = TautulliEmulator(Library(world))
    user_id = world.users[5]["user_id"]
    resp = emulator.cmd_get_history({"user_id": str(user_id), "length": "1000"})
    data = json.loads(resp.body)["response"]["data"]
    mine = [r for r in world.history if r["user_id"] == user_id]
    assert data["recordsFiltered"] == len(mine) > 0
    for row in data["data"]:
        assert list(row) == list(HISTORY_DEFAULTS)
        assert row["date"] == row["started"] and row["row_id"] == row["reference_id"] >= 1


def test_plays_per_user_partials_rewatches_and_one_year(world: World) -> None:
    rows = world.history
    per_user = Counter(r["user_id"] for r in rows)
    assert set(per_user) == {u["user_id"] for u in world.users}
    assert min(per_user.values()) >= 15 and max(per_user.values()) <= 120
    abandoned = [r for r in rows if r["percent_complete"] < 50 and r["watched_status"] == 0]
    assert 0.03 < len(abandoned) / len(rows) < 0.2
    assert sum(1 for u in per_user if any(r["user_id"] == u for r in abandoned)) > len(per_user) // 2
    plays = Counter((r["user_id"], r["rating_key"]) for r in rows if r["percent_complete"] >= 90)
    assert sum(1 for n in plays.values() if n > 1) > 100  # rewatches
    started = sorted(r["started"] for r in rows)
    assert NOW - 3600 - started[-1] == 0  # anchored: the newest play was an hour ago
    assert 360 * DAY <= started[-1] - started[0] <= 366 * DAY
    by_user = defaultdict(list)
    for r in rows:
        by_user[r["user_id"]].append(r)
    for mine in by_user.values():  # one viewer does not watch two things at once
        mine.sort(key=lambda r: r["started"])
        assert all(b["started"] > a["stopped"] for a, b in zip(mine, mine[1:]))


def test_the_product_history_reader_accepts_every_row(world: World) -> None:
    rating_key_tmdb = {i.rating_key: i.tmdb_id for i in world.inventory}
    rollup = roll_up_history(world.history, rating_key_tmdb=rating_key_tmdb)
    assert rollup.rows_read == len(world.history) and not rollup.skipped
    watched = {("movie", int(r["rating_key"])) for r in world.history}
    assert len(rollup.titles) == len(watched)
    assert all(t.tmdb_id is not None for t in rollup.titles.values())


def test_build_is_deterministic(tmp_path) -> None:
    build_world(tmp_path, users=240, seed=7)
    for name in ("world.yml", "movies.csv", "inventory.csv", "users.json", "history.jsonl", "tastes.json"):
        assert (tmp_path / name).read_bytes() == (MULTIUSER_WORLD_DIR / name).read_bytes(), name
    assert sum(p.stat().st_size for p in MULTIUSER_WORLD_DIR.iterdir()) < 5_000_000


def test_rankers_order_ease_knn_popular_random(world: World) -> None:
    interactions = interactions_from_history(world.history, world.inventory)
    catalog = sorted(world.titles)
    visible, hidden = split_last_n(interactions, n=10)
    assert len(hidden) >= 200
    ease, lam = tune_ease(visible, catalog)
    assert isinstance(ease, EaseRanker) and lam in (50, 100, 250, 500, 1000, 2500)
    results = {}
    for name, ranker in (("random", RandomRanker(seed=1).fit(visible, catalog)),
                         ("popular", PopularRanker().fit(visible, catalog)),
                         ("itemknn", ItemKnnRanker(neighbours=100).fit(visible, catalog)),
                         ("ease", ease)):
        recs = {u: ranker.recommend(u, 20) for u in hidden}
        results[name] = evaluate(recs, hidden, len(catalog), k=20)
    hr = {name: r["hit_rate"] for name, r in results.items()}
    assert hr["ease"] > hr["popular"] + 0.1, results
    assert hr["itemknn"] > hr["popular"], results
    assert hr["popular"] > hr["random"] + 0.1, results
    assert results["ease"]["ndcg"] > results["itemknn"]["ndcg"] > results["popular"]["ndcg"] > results["random"]["ndcg"]
