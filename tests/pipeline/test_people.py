"""Per-person recommendations end to end: the demo world's three users over real HTTP to the
emulators, a real SQLite store and a real Dagster instance (``run_once``), then the API.

The demo household: Dana watches true crime, Sam science fiction, Riley family animation
(plexrecs_emulators/world/build_demo.py)."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_assets.config import load_app_config
from plexrecs_assets.demo import EMULATOR_KEYS
from plexrecs_assets.publish.kometa_playlists import validate_playlist_text
from plexrecs_assets.runner import run_once
from plexrecs_assets.store.db import dispose_all
from plexrecs_emulators.world.loader import load_world

PEOPLE = {"dana-p": "dana.p", "samvoid": "samvoid", "riley-kids": "riley.kids"}
PERSONAL = ("movies-for-you", "shows-for-you", "documentaries-for-you")


def _resolved(json_out: Path, job_id: int, user_key: str, category_id: str) -> dict:
    path = json_out / "runs" / f"{job_id:06d}" / "users" / user_key / f"{category_id}.resolved.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _watched(world, username: str) -> tuple[set[int], dict[str, int]]:
    """(rating keys of the movies they played, completed episodes per show rating key)."""
    movies: set[int] = set()
    episodes: dict[str, set] = {}
    for row in world.history:
        if row.get("user") != username:
            continue
        if row["media_type"] == "movie":
            movies.add(int(row["rating_key"]))
        elif row.get("watched_status") == 1 or (row.get("percent_complete") or 0) >= 85:
            episodes.setdefault(str(row["grandparent_rating_key"]), set()).add(
                (row.get("parent_media_index"), row.get("media_index")))
    return movies, {k: len(v) for k, v in episodes.items()}


@pytest.fixture(scope="module")
def people_run(demo_suite, tmp_path_factory):
    """Two daily runs of the demo config (the second a day later)."""
    from plexrecs_assets.demo import secrets_env, write_demo_config

    root = tmp_path_factory.mktemp("people")
    env = demo_suite.env()
    mp = pytest.MonkeyPatch()
    for key, value in secrets_env(env).items():
        mp.setenv(key, value)
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir()
    write_demo_config(root / "config", root / "data", env)
    try:
        first = run_once(root / "config")
        second = run_once(root / "config", as_of=(date.today() + timedelta(days=1)).isoformat())
        yield root, first, second
    finally:
        mp.undo()
        dispose_all()


def test_each_person_gets_their_own_library_lists_of_unwatched_owned_titles(people_run, demo_suite):
    root, first, _second = people_run
    assert first.status == "success", first.error
    app = load_app_config(root / "config")
    json_out = Path(app.paths.json_out_dir)
    person_job = max(first.job_ids)
    world = load_world()
    owned = {(i.media_type.replace("show", "tv"), i.tmdb_id): i for i in world.inventory if i.tmdb_id}
    lists: dict[str, dict[str, set]] = {}
    for user_key, username in PEOPLE.items():
        movies_played, completed = _watched(world, username)
        for category_id in PERSONAL:
            doc = _resolved(json_out, person_job, user_key, category_id)
            assert doc["user_key"] == user_key and doc["mode"] == "library"
            assert doc["items"], f"{user_key}/{category_id} is empty"
            keys = {(i["medium"], i["tmdb_id"]) for i in doc["items"]}
            lists.setdefault(category_id, {})[user_key] = keys
            for item in doc["items"]:
                held = owned.get((item["medium"], item["tmdb_id"]))
                assert held is not None, f"{user_key}/{category_id}: {item['title']} is not in the library"
                if item["medium"] == "movie":
                    assert int(held.rating_key) not in movies_played, f"{user_key} already watched {item['title']}"
                else:
                    # A show they played may come back only while they have not finished it.
                    leaf = _leaf_count(demo_suite, held.rating_key)
                    assert completed.get(str(held.rating_key), 0) < leaf, f"{user_key} finished {item['title']}"
            genres = [set(i["genres"]) for i in doc["items"]]
            if category_id == "documentaries-for-you":
                assert all("Documentary" in g for g in genres)
            else:
                assert not any("Documentary" in g for g in genres)
    # Tastes differ, so the lists do: no two people share most of their movies.
    movies = lists["movies-for-you"]
    for a in PEOPLE:
        for b in PEOPLE:
            if a < b:
                overlap = len(movies[a] & movies[b]) / len(movies[a] | movies[b])
                assert overlap < 0.35, (a, b, overlap)


def _leaf_count(suite, rating_key) -> int:
    """A show's episode count as the Plex emulator serves it (``leafCount``)."""
    answer = httpx.get(f"{suite.env()['PLEX_URL']}/library/metadata/{rating_key}",
                       headers={"X-Plex-Token": EMULATOR_KEYS["plex"], "Accept": "application/json"}, timeout=10)
    answer.raise_for_status()
    return int(answer.json()["MediaContainer"]["Metadata"][0]["leafCount"])


def test_each_person_gets_a_valid_kometa_playlist_synced_to_them(people_run):
    root, _first, _second = people_run
    folder = Path(load_app_config(root / "config").paths.pmm_out_dir) / "playlists"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f"{u}--{c}.yml" for u in PEOPLE for c in PERSONAL)
    for user_key, username in PEOPLE.items():
        for category_id in PERSONAL:
            parsed = validate_playlist_text((folder / f"{user_key}--{category_id}.yml").read_text(encoding="utf-8"))
            assert parsed.users == [username]
            assert parsed.libraries == ["Movies", "TV Shows"]
            assert not parsed.retired
    # Household categories keep their collection files, and no person gets one.
    assert not [p for p in folder.parent.glob("plexrecs-*.yml") if "for-you" in p.name]


def test_dedupe_is_per_person(people_run):
    """The next day a person's new picks are none of their own earlier ones (unless kept by the
    rotation), while another person may well be offered the same title."""
    root, first, second = people_run
    assert second.status == "success", second.error
    json_out = Path(load_app_config(root / "config").paths.json_out_dir)
    day1, day2 = max(first.job_ids), max(second.job_ids)
    for user_key in PEOPLE:
        for category_id in PERSONAL:
            before = {(i["medium"], i["tmdb_id"]) for i in _resolved(json_out, day1, user_key, category_id)["items"]}
            after = _resolved(json_out, day2, user_key, category_id)["items"]
            repeats = [i["title"] for i in after if (i["medium"], i["tmdb_id"]) in before and not i.get("kept")]
            assert not repeats, f"{user_key}/{category_id} repeats {repeats}"


def test_the_api_serves_people_and_their_lists(people_run):
    root, first, _second = people_run
    with TestClient(create_app(root / "config"), base_url="http://127.0.0.1") as client:
        users = client.get("/v1/users").json()["users"]
        assert {u["user_key"]: u["username"] for u in users} == PEOPLE
        assert all(u["plays"] > 0 and isinstance(u["tautulli_user_id"], int) for u in users)

        categories = {c["id"]: c for c in client.get("/v1/categories").json()["categories"]}
        assert categories["movies-for-you"]["audience"] == "each_user"
        assert categories["movies-for-you"]["mode"] == "library"
        assert categories["true-crime-4cfab3"]["audience"] == "household"

        answer = client.get("/v1/users/samvoid/recs/movies-for-you/latest")
        assert answer.status_code == 200
        assert answer.json()["user_key"] == "samvoid" and answer.json()["items"]
        household = client.get("/v1/users/household/recs/true-crime-4cfab3/latest")
        assert household.json() == client.get("/v1/categories/true-crime-4cfab3/recs/latest").json()
        assert client.get("/v1/users/nobody/recs/movies-for-you/latest").status_code == 404
        # A household category has no per-person list, and the reverse.
        assert client.get("/v1/users/samvoid/recs/true-crime-4cfab3/latest").status_code == 404
        assert client.get("/v1/users/household/recs/movies-for-you/latest").status_code == 404

        pairs = {(p["user_key"], p["category_id"]): p["status"] for p in client.get("/v1/runs/latest").json()["pairs"]}
        assert {(u, c) for u in PEOPLE for c in PERSONAL} | {("household", "true-crime-4cfab3")} <= set(pairs)
        assert set(pairs.values()) == {"success"}

        files = client.get("/v1/pmm/collections").json()["collections"]
        playlists = [f for f in files if f["media_type"] == "playlist"]
        assert {(f["user_key"], Path(f["path"]).name) for f in playlists} == {
            (u, f"{u}--{c}.yml") for u in PEOPLE for c in PERSONAL}
        assert all(f["items"] > 0 for f in playlists)
