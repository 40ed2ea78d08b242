from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from plexrecs_assets.clients.base import ServiceAuthError, ServiceError
from plexrecs_assets.clients.tautulli import TautulliClient


def _all_rows_count(tautulli: TautulliClient, **filters) -> int:
    return tautulli.call("get_history", start=0, length=1, **filters)["recordsFiltered"]


def test_history_pages_through_every_row_with_a_small_page_size(tautulli, suite):
    rows = tautulli.get_history(page_size=25)
    expected = _all_rows_count(tautulli, media_type="movie,episode")
    assert len(rows) == expected > 50
    assert len({r["row_id"] for r in rows}) == len(rows)
    assert Counter(r["media_type"] for r in rows).keys() == {"movie", "episode"}
    assert all({"user_id", "percent_complete", "watched_status", "rating_key"} <= row.keys() for row in rows)


def test_history_is_read_in_windows_of_days_so_offsets_stay_small(tautulli, suite):
    """A real Tautulli's cost grows with the offset (SQL LIMIT/OFFSET): reading the history
    with offset paging costs O(rows²). Windows of days keep every offset within a few pages."""
    suite.tautulli.set_options(offset_row_s=0.0, row_s=0.0, query_s=0.0)
    rows = tautulli.get_history(after=dt.date.today() - dt.timedelta(days=400), page_size=25)
    calls = [r["query"] for r in suite.tautulli.requests() if r["query"].get("cmd") == "get_history"]
    assert len(rows) == _all_rows_count(tautulli, media_type="movie,episode") > 200
    assert max(int(q["start"]) for q in calls) <= 4 * 25
    assert all(q.get("after") for q in calls)
    assert calls[-1].get("before") is None  # the newest window is open-ended


def test_history_without_a_start_day_reads_from_the_first_play(tautulli, suite):
    everything = tautulli.get_history(after=None, page_size=100)
    assert len(everything) == _all_rows_count(tautulli, media_type="movie,episode")


def test_history_filters_are_sent_and_respected(tautulli, suite):
    everyone = tautulli.get_history(media_types=("movie",))
    assert everyone and {r["media_type"] for r in everyone} == {"movie"}
    user_id = suite.world.users[0]["user_id"]
    mine = tautulli.get_history(user_id=user_id)
    assert mine and {r["user_id"] for r in mine} == {user_id}
    days = sorted(dt.datetime.fromtimestamp(r["started"], dt.timezone.utc).date() for r in everyone)
    middle = days[len(days) // 2]
    recent = tautulli.get_history(after=middle, media_types=("movie",))
    assert 0 < len(recent) < len(everyone)
    assert all(dt.datetime.fromtimestamp(r["started"], dt.timezone.utc).date() >= middle for r in recent)


def test_users_and_metadata(tautulli, suite):
    users = tautulli.get_users()
    assert {u["user_id"] for u in users} == {u["user_id"] for u in suite.world.users}
    assert tautulli.get_metadata("does-not-exist") == {}


def test_external_ids_for_movies_and_episodes(tautulli, suite):
    rows = tautulli.get_history()
    movie_row = next(r for r in rows if r["media_type"] == "movie"
                     and tautulli.get_metadata(r["rating_key"]).get("guids"))
    movie = tautulli.external_ids(movie_row["rating_key"])
    plex_item = next(i for i in suite.world.inventory if i.rating_key == str(movie_row["rating_key"]))
    assert movie.media_type == "movie" and movie.tmdb_id == plex_item.tmdb_id
    assert movie.show_tmdb_id is None and movie.recommendable_tmdb_id == plex_item.tmdb_id

    episode_row = next(r for r in rows if r["media_type"] == "episode"
                       and tautulli.get_metadata(r["rating_key"]).get("grandparent_guids"))
    episode = tautulli.external_ids(episode_row["rating_key"])
    show = next(i for i in suite.world.inventory
                if i.media_type == "show" and i.rating_key == str(episode_row["grandparent_rating_key"]))
    assert episode.media_type == "episode"
    assert episode.show_tmdb_id == show.tmdb_id and episode.recommendable_tmdb_id == show.tmdb_id
    assert episode.tmdb_id != show.tmdb_id


def test_wrong_api_key_is_an_auth_error_without_retries_or_the_key(env, suite, fast):
    secret = "wrong-key-0123456789abcdef"
    client = TautulliClient(env["TAUTULLI_URL"], secret, retry=fast)
    with pytest.raises(ServiceAuthError) as info:
        client.get_users()
    assert info.value.status == 400 and "Invalid apikey" in str(info.value)
    assert secret not in str(info.value) and "tautulli" in str(info.value)
    assert len(suite.tautulli.requests()) == 1


def test_error_envelope_raises_with_the_servers_message(tautulli):
    with pytest.raises(ServiceError) as info:
        tautulli.call("no_such_command")
    assert "Unknown command: no_such_command" in str(info.value)
    assert not isinstance(info.value, ServiceAuthError)


def test_check(tautulli, suite, env, closed_port_url, fast):
    assert tautulli.check().ok
    suite.tautulli.set_faults(bad_credentials=True)
    bad = tautulli.check()
    assert not bad.ok and "bad API key" in bad.fix
    down = TautulliClient(closed_port_url, env["TAUTULLI_API_KEY"], retry=fast).check()
    assert not down.ok and "server unreachable" in down.fix
    wrong_url = TautulliClient(env["PLEX_URL"], env["TAUTULLI_API_KEY"], retry=fast).check()
    assert not wrong_url.ok and "wrong URL" in wrong_url.fix


def test_odd_rows_null_and_list_row_id_are_skipped_and_counted(tmp_path):
    """A ``null`` row and a row whose ``row_id`` is a list come back from Tautulli; the read and
    the roll-up go on, skipping and counting them."""
    import json

    from emulators.tiny_world import write_tiny_world

    from plexrecs_assets.video.history import roll_up_history
    from plexrecs_emulators.suite import EmulatorSuite

    world = write_tiny_world(tmp_path / "odd")
    history = world / "history.jsonl"
    lines = history.read_text(encoding="utf-8").splitlines()
    listed = json.loads(lines[0])
    listed.update({"row_id": [90, 91], "id": [90, 91], "reference_id": 90, "rating_key": 502})
    history.write_text("\n".join([*lines, "null", json.dumps(listed)]) + "\n", encoding="utf-8")
    with EmulatorSuite(world) as odd, TautulliClient(odd.tautulli.url, odd.keys["tautulli"]) as client:
        rows = list(client.iter_history())
        rollup = roll_up_history(rows)
    assert None in rows
    assert any(isinstance(r, dict) and r.get("row_id") == [90, 91] for r in rows)
    assert rollup.skipped["not_a_row"] == 1
    assert rollup.skipped["bad_row_id"] == 1
    assert {t.title for t in rollup.titles.values()} >= {"The Imposter", "Heist Night"}


def test_deleted_users_plays_do_not_count_and_check_skips_the_local_user(tmp_path):
    """Tautulli keeps a deleted user's plays but get_users leaves the user out; the built-in
    "Local" user (id 0) is listed but is not a person."""
    import json

    from emulators.tiny_world import USERS, write_tiny_world

    from plexrecs_assets.video.history import roll_up_history
    from plexrecs_emulators.suite import EmulatorSuite

    world = write_tiny_world(tmp_path / "users")
    users = [*USERS, {"row_id": 3, "user_id": 1003, "username": "gone", "friendly_name": "Gone", "deleted_user": 1},
             {"row_id": 4, "user_id": 0, "username": "Local", "friendly_name": "Local"}]
    (world / "users.json").write_text(json.dumps(users), encoding="utf-8")
    history = world / "history.jsonl"
    lines = history.read_text(encoding="utf-8").splitlines()
    gone = json.loads(lines[0])
    gone.update({"row_id": 80, "id": 80, "reference_id": 80, "user_id": 1003, "user": "gone", "rating_key": 504,
                 "title": "Amélie", "full_title": "Amélie"})
    history.write_text("\n".join([*lines, json.dumps(gone)]) + "\n", encoding="utf-8")
    with EmulatorSuite(world) as suite, TautulliClient(suite.tautulli.url, suite.keys["tautulli"]) as client:
        listed = client.get_users()
        ids = client.listed_user_ids()
        rollup = roll_up_history(client.iter_history(), user_ids=ids)
        check = client.check()
    assert {u["user_id"] for u in listed} == {1001, 1002, 0} and all("deleted_user" not in u for u in listed)
    assert ids == {1001, 1002, 0}
    assert "Amélie" not in {t.title for t in rollup.titles.values()} and rollup.skipped["other_user"] == 1
    assert check.ok and "(2 users)" in check.detail
