"""The bundled demo world and its generator."""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from plexrecs_emulators.world.build_demo import build_world
from plexrecs_emulators.world.loader import DEMO_WORLD_DIR, Title, World, load_world, synthetic_imdb_id

NOW = 1_900_000_000.0
DAY = 86_400
HISTORY_KEYS = [
    "reference_id", "row_id", "id", "date", "started", "stopped", "duration", "play_duration",
    "paused_counter", "user_id", "user", "friendly_name", "user_thumb", "platform", "product",
    "player", "ip_address", "live", "machine_id", "location", "secure", "relayed", "media_type",
    "rating_key", "parent_rating_key", "grandparent_rating_key", "full_title", "title",
    "parent_title", "grandparent_title", "original_title", "year", "media_index",
    "parent_media_index", "thumb", "originally_available_at", "guid", "transcode_decision",
    "percent_complete", "watched_status", "group_count", "group_ids", "state", "session_key",
]
USER_KEYS = [
    "row_id", "user_id", "username", "friendly_name", "thumb", "email", "is_active", "is_admin",
    "is_home_user", "is_allow_sync", "is_restricted", "do_notify", "keep_history", "allow_guest",
    "shared_libraries", "filter_all", "filter_movies", "filter_tv", "filter_music", "filter_photos",
]

# The spec's demo categories, written independently of the generator's own predicates.
TRUE_CRIME_KW = {"true crime", "investigative journalism", "fraud", "forensics", "cold case",
                 "wrongful conviction", "serial killer", "murder"}
COZY_KW = {"cozy", "gentle", "uplifting", "low-stakes", "feel-good", "friendship", "heartwarming"}


def true_crime(t: Title) -> bool:
    return bool({"Documentary", "Crime"} & set(t.genres)) and bool(TRUE_CRIME_KW & set(t.keywords))


def like_the_jinx(t: Title) -> bool:
    return bool({"Documentary", "Crime"} & set(t.genres)) and bool(
        {"true crime", "murder", "cold case", "investigative journalism"} & set(t.keywords))


def like_crime_seeds(t: Title) -> bool:  # The Imposter + Murder on Middle Beach
    return bool({"Documentary", "Crime"} & set(t.genres)) and bool(
        {"true crime", "fraud", "identity theft", "murder", "cold case", "family secrets",
         "investigative journalism"} & set(t.keywords))


def cozy(t: Title) -> bool:
    genres = set(t.genres)
    if genres & {"Horror", "War"} or not genres & {"Family", "Animation", "Comedy", "Kids"}:
        return False
    return bool(COZY_KW & set(t.keywords)) or bool(genres & {"Family", "Kids"})


@pytest.fixture(scope="module")
def world() -> World:
    return load_world(now=NOW)


def _is_media(row: dict) -> bool:
    return row["media_type"] in ("movie", "episode") and bool(row["title"]) and row["year"] is not None


def _watched_keys(world: World) -> set[tuple[str, int]]:
    by_rating_key = {it.rating_key: it for it in world.inventory}
    keys = set()
    for row in world.history:
        if not _is_media(row):
            continue
        rk = row["rating_key"] if row["media_type"] == "movie" else row["grandparent_rating_key"]
        item = by_rating_key.get(str(rk))
        if item is not None and item.tmdb_id is not None:
            keys.add((item.medium, item.tmdb_id))
    return keys


def test_catalog_counts_and_named_titles(world: World) -> None:
    assert len(world.movies) >= 4800
    assert len(world.series) >= 70

    def find(name: str, medium: str) -> Title:
        matches = [t for t in world.titles.values() if t.title == name and t.medium == medium]
        assert len(matches) == 1, (name, medium, matches)
        return matches[0]

    assert find("The Imposter", "movie").year == 2012
    assert find("The Jinx: The Life and Deaths of Robert Durst", "tv").year == 2015
    assert find("Murder on Middle Beach", "tv").year == 2020
    assert "Documentary" in find("The Imposter", "movie").genres
    true_crime_series = [t for t in world.series if "Documentary" in t.genres and "true crime" in t.keywords]
    assert len(true_crime_series) >= 20


def test_extra_movies_do_not_shadow_the_dataset() -> None:
    import csv

    with (DEMO_WORLD_DIR / "movies.csv").open(encoding="utf-8") as fh:
        base = {row["tmdb_id"] for row in csv.DictReader(fh)}
    with (DEMO_WORLD_DIR / "movies_extra.csv").open(encoding="utf-8") as fh:
        extra = [row["tmdb_id"] for row in csv.DictReader(fh)]
    assert extra and not base & set(extra)
    assert len(extra) == len(set(extra))


def test_imdb_ids_fall_back_to_the_synthetic_rule(world: World) -> None:
    gravity_falls = next(t for t in world.series if t.title == "Gravity Falls")
    assert gravity_falls.imdb_id == "tt1865718"
    unknown = next(t for t in world.movies if t.title == "Avatar" and t.year == 2009)
    assert unknown.imdb_id == synthetic_imdb_id("movie", unknown.tmdb_id)
    assert unknown.imdb_id.startswith("tt9")


def test_world_yml_describes_the_plex_server(world: World) -> None:
    plex = world.meta["plex"]
    assert world.meta["history_anchor"] == "latest"
    assert len(plex["machine_identifier"]) == 40
    int(plex["machine_identifier"], 16)
    assert [(s["key"], s["type"]) for s in world.sections()] == [("1", "movie"), ("2", "show")]


def test_inventory_is_a_third_of_the_catalog_with_legacy_items(world: World) -> None:
    inv = world.inventory
    assert 0.28 <= len(inv) / len(world.titles) <= 0.38
    keys = [it.rating_key for it in inv]
    assert len(keys) == len(set(keys)) and all(k.isdigit() for k in keys)
    legacy = [it for it in inv if it.agent == "legacy"]
    assert 0.01 <= len(legacy) / len(inv) <= 0.03
    assert all(it.tmdb_id is None for it in legacy)
    assert all(it.tmdb_id is not None and world.get(it.medium, it.tmdb_id) for it in inv if it.agent == "plex")
    assert {it.media_type for it in inv} == {"movie", "show"}
    assert all(it.section_id == ("1" if it.media_type == "movie" else "2") for it in inv)
    owned = {(it.medium, it.tmdb_id) for it in inv}
    jinx = next(t for t in world.series if t.title.startswith("The Jinx"))
    imposter = next(t for t in world.movies if t.title == "The Imposter")
    assert jinx.key in owned and imposter.key in owned


def test_users_are_tautulli_rows(world: World) -> None:
    assert len(world.users) == 3
    for user in world.users:
        assert list(user) == USER_KEYS
        assert isinstance(user["user_id"], int) and user["user_id"] >= 1_000_000
        assert all(isinstance(s, str) for s in user["shared_libraries"])
    assert len({u["user_id"] for u in world.users}) == 3


def test_history_rows_have_exact_keys_and_types(world: World) -> None:
    rows = world.history
    assert 600 <= len(rows) <= 1200
    for row in rows:
        assert list(row) == HISTORY_KEYS
        for key in ("date", "started", "stopped", "user_id", "row_id", "percent_complete", "group_count"):
            assert isinstance(row[key], int), (key, row)
        assert isinstance(row["group_ids"], str)
        assert row["state"] is None and row["session_key"] is None
        assert row["guid"] == "" or not row["guid"].startswith("tmdb")
    assert len({r["row_id"] for r in rows}) == len(rows)


def test_history_spans_the_window_after_anchoring(world: World) -> None:
    dates = [r["date"] for r in world.history]
    assert max(dates) == int(NOW) - 3600
    assert 115 * DAY <= max(dates) - min(dates) <= 121 * DAY


def test_history_points_into_the_inventory(world: World) -> None:
    inventory = {it.rating_key: it for it in world.inventory}
    odd = [r for r in world.history if not _is_media(r)]
    assert {r["media_type"] for r in odd} >= {"track", "clip"}
    assert any(r["title"] == "" and r["year"] is None for r in odd)
    assert 3 <= len(odd) <= 8
    for row in world.history:
        if not _is_media(row):
            continue
        if row["media_type"] == "movie":
            assert inventory[str(row["rating_key"])].media_type == "movie"
        else:
            show = inventory[str(row["grandparent_rating_key"])]
            assert show.media_type == "show" and row["grandparent_title"] == show.title
            assert row["parent_title"] == f"Season {row['parent_media_index']}"
            assert isinstance(row["media_index"], int)


def test_history_has_episodes_partials_rewatches_and_abandoned_shows(world: World) -> None:
    media = [r for r in world.history if _is_media(r)]
    assert sum(r["media_type"] == "episode" for r in media) >= 200
    partial = [r for r in media if 10 <= r["percent_complete"] <= 60]
    assert len(partial) >= 5 and all(r["watched_status"] in (0, 0.25, 0.5) for r in partial)
    complete = [r for r in media if r["percent_complete"] >= 90]
    assert all(r["watched_status"] == 1 for r in complete)
    movie_plays = Counter((r["user_id"], r["rating_key"]) for r in media if r["media_type"] == "movie")
    assert sum(1 for n in movie_plays.values() if n >= 2) >= 3
    episode_keys = [r["rating_key"] for r in media if r["media_type"] == "episode"]
    assert len(episode_keys) == len(set(episode_keys))

    by_show: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in media:
        if r["media_type"] == "episode":
            by_show[(r["user_id"], r["grandparent_rating_key"])].append(r)
    abandoned = [
        plays for plays in by_show.values()
        if len(plays) <= 2 and max(plays, key=lambda r: r["started"])["percent_complete"] < 50
    ]
    assert len(abandoned) >= 2


def test_each_user_has_a_distinct_taste(world: World) -> None:
    titles_by_rk = {it.rating_key: world.get(it.medium, it.tmdb_id) for it in world.inventory if it.tmdb_id}
    tastes = {
        "true crime": lambda t: true_crime(t),
        "science fiction": lambda t: bool({"Science Fiction", "Sci-Fi & Fantasy"} & set(t.genres))
        and not {"Family", "Kids"} & set(t.genres),
        "family animation": lambda t: "Animation" in t.genres and bool({"Family", "Kids"} & set(t.genres)),
    }
    leaders = set()
    for user in world.users:
        plays = [titles_by_rk.get(str(r["rating_key"] if r["media_type"] == "movie" else r["grandparent_rating_key"]))
                 for r in world.history if _is_media(r) and r["user_id"] == user["user_id"]]
        plays = [t for t in plays if t is not None]
        share = {name: sum(map(pred, plays)) / len(plays) for name, pred in tastes.items()}
        best = max(share, key=share.get)
        assert share[best] >= 0.7, (user["username"], share)
        media = {t.medium for t in plays if tastes[best](t)}
        assert media == {"movie", "tv"}, (user["username"], media)
        leaders.add(best)
    assert len(leaders) == 3


@pytest.mark.parametrize("category", [true_crime, like_the_jinx, like_crime_seeds, cozy])
def test_each_demo_category_has_fresh_titles(world: World, category) -> None:
    owned = {(it.medium, it.tmdb_id) for it in world.inventory if it.tmdb_id is not None}
    owned_titles = {(it.title, it.year) for it in world.inventory}
    seen = _watched_keys(world)
    fresh = [t for t in world.titles.values()
             if category(t) and t.key not in owned | seen and (t.title, t.year) not in owned_titles]
    assert len(fresh) >= 60, (category.__name__, len(fresh))


def test_fresh_true_crime_documentaries_exist(world: World) -> None:
    owned = {(it.medium, it.tmdb_id) for it in world.inventory if it.tmdb_id is not None}
    fresh = [t for t in world.titles.values()
             if "Documentary" in t.genres and true_crime(t) and t.key not in owned]
    assert len(fresh) >= 25
    assert {t.medium for t in fresh} == {"movie", "tv"}


def test_build_is_deterministic(tmp_path) -> None:
    build_world(tmp_path / "a")
    build_world(tmp_path / "b")
    for name in ("world.yml", "inventory.csv", "users.json", "history.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    # The committed demo world is exactly what the generator writes.
    for name in ("world.yml", "inventory.csv", "users.json", "history.jsonl"):
        assert (tmp_path / "a" / name).read_bytes() == (DEMO_WORLD_DIR / name).read_bytes(), name


def test_scale_world(tmp_path) -> None:
    build_world(tmp_path / "base")
    build_world(tmp_path / "scale", extra_history_rows=100_000, extra_inventory=5_000)
    base = load_world(tmp_path / "base", now=NOW)
    scale = load_world(tmp_path / "scale", now=NOW)
    assert len(scale.history) == len(base.history) + 100_000
    assert len(scale.inventory) == len(base.inventory) + 5_000
    synthetic = [it for it in scale.inventory if it.tmdb_id and it.tmdb_id >= 9_000_000]
    assert synthetic and all(it.title.startswith("Scale Item ") for it in synthetic)
    keys = [it.rating_key for it in scale.inventory]
    assert len(keys) == len(set(keys))
    inventory_keys = set(keys)
    assert all(str(r["rating_key"]) in inventory_keys for r in scale.history
               if r["media_type"] == "movie" and r["title"])
    first = json.loads((tmp_path / "scale" / "history.jsonl").open().readline())
    assert list(first) == HISTORY_KEYS
