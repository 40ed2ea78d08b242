from __future__ import annotations

import pytest

from .tiny_world import HISTORY


def call(http, suite, key=None, **params):
    key = suite.keys["tautulli"] if key is None else key
    return http.get(f"{suite.tautulli.url}/api/v2", params={"apikey": key, **params})


def test_wrong_key_is_http_400_with_error_envelope(suite, http):
    r = call(http, suite, key="nope", cmd="get_users")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"response": {"result": "error", "message": "Invalid apikey", "data": {}}}


def test_missing_key_and_bad_commands_are_400(suite, http):
    r = http.get(f"{suite.tautulli.url}/api/v2", params={"cmd": "get_users"})
    assert (r.status_code, r.json()["response"]["message"]) == (400, "Parameter apikey is required")
    r = call(http, suite, cmd="get_everything")
    assert r.status_code == 400
    assert r.json()["response"]["message"].startswith("Unknown command: get_everything. Possible commands are:")
    r = call(http, suite)
    assert r.status_code == 400
    assert r.json()["response"]["message"].startswith("Parameter cmd is required")


def test_get_users_lists_users_with_friendly_name_fallback(suite, http):
    r = call(http, suite, cmd="get_users")
    body = r.json()["response"]
    assert (r.status_code, body["result"], body["message"]) == (200, "success", None)
    users = {u["user_id"]: u for u in body["data"]}
    assert set(users) == {1001, 1002}
    assert users[1002]["friendly_name"] == "riley"  # falls back to username
    assert users[1001]["shared_libraries"] == ["1", "2"]


def test_history_envelope_counts_and_types(suite, http):
    data = call(http, suite, cmd="get_history", length=2).json()["response"]["data"]
    assert set(data) >= {"recordsTotal", "recordsFiltered", "draw", "total_duration", "filter_duration", "data"}
    assert data["recordsTotal"] == len(HISTORY) == data["recordsFiltered"]
    assert len(data["data"]) == 2
    row = data["data"][0]
    assert isinstance(row["rating_key"], int) and isinstance(row["date"], int)
    assert row["row_id"] == len(HISTORY)  # newest first by default
    assert data["total_duration"] == "7 hrs"


def test_history_filters(suite, http):
    def rows(**params):
        return call(http, suite, cmd="get_history", length=100, **params).json()["response"]["data"]

    movies = rows(media_type="movie")
    assert {r["media_type"] for r in movies["data"]} == {"movie"} and movies["recordsFiltered"] == 3
    assert rows(media_type="movie,episode")["recordsFiltered"] == 6
    assert rows(user_id="1002")["recordsFiltered"] == 2
    # after/before are inclusive days: day 1 and day 2 of the tiny history
    window = rows(after="2024-03-02", before="2024-03-03")
    assert sorted(r["row_id"] for r in window["data"]) == [2, 3]
    asc = rows(order_column="date", order_dir="asc")["data"]
    assert [r["row_id"] for r in asc] == sorted(r["row_id"] for r in asc)
    page = call(http, suite, cmd="get_history", start=1, length=2).json()["response"]["data"]
    assert [r["row_id"] for r in page["data"]] == [6, 5]
    assert page["recordsFiltered"] == len(HISTORY)


def test_history_strings_are_html_sanitised(suite, http):
    rows = call(http, suite, cmd="get_history", media_type="track").json()["response"]["data"]["data"]
    assert rows[0]["title"] == "Song &lt;One&gt;"


def test_metadata_movie_new_agent_has_string_scalars_and_guids(suite, http):
    data = call(http, suite, cmd="get_metadata", rating_key="501").json()["response"]["data"]
    assert data["media_type"] == "movie"
    assert data["title"] == "The Imposter"
    assert data["year"] == "2012" and data["rating_key"] == "501"
    assert "tmdb://101" in data["guids"]
    assert any(g.startswith("imdb://tt") for g in data["guids"])
    assert data["grandparent_guids"] == []


def test_metadata_legacy_item_has_no_guids(suite, http):
    data = call(http, suite, cmd="get_metadata", rating_key="505").json()["response"]["data"]
    assert data["guids"] == []
    assert data["guid"].startswith("com.plexapp.agents.imdb://tt") and data["guid"].endswith("?lang=en")


def test_metadata_show_with_tvdb(suite, http):
    data = call(http, suite, cmd="get_metadata", rating_key="601").json()["response"]["data"]
    assert data["media_type"] == "show"
    assert data["guids"] == ["imdb://tt4299972", "tmdb://201", "tvdb://289080"]


def test_metadata_episode_carries_show_tmdb_id_in_grandparent_guids(suite, http):
    data = call(http, suite, cmd="get_metadata", rating_key="7001").json()["response"]["data"]
    assert data["media_type"] == "episode"
    assert data["grandparent_rating_key"] == "601"
    assert "tmdb://201" in data["grandparent_guids"]
    assert "tmdb://201" not in data["guids"]


@pytest.mark.parametrize("rating_key", ["99999", "7901"])  # unknown, and an episode of a deleted show
def test_metadata_unknown_key_is_success_with_empty_data(suite, http, rating_key):
    r = call(http, suite, cmd="get_metadata", rating_key=rating_key)
    assert r.status_code == 200
    assert r.json() == {"response": {"result": "success", "message": None, "data": {}}}


def test_cheap_check_command(suite, http):
    data = call(http, suite, cmd="get_server_info").json()["response"]["data"]
    assert data["pms_identifier"] == "00aa11bb22cc33dd44ee55ff6677889900aabbcc"
    assert call(http, suite, key="wrong", cmd="get_server_info").status_code == 400


def test_history_cost_grows_with_the_offset_and_is_configurable(suite, http):
    """Like Tautulli's SQL LIMIT/OFFSET: rows before ``start`` are paid for on every page."""
    options = f"{suite.tautulli.root_url}/__emulator/options"
    assert http.get(options).json() == {"query_s": 0.0, "offset_row_s": 0.0, "row_s": 0.0}
    assert http.put(options, json={"offset_row_s": -1}).status_code == 400
    assert http.put(options, json={"nonsense": 1}).status_code == 400
    try:
        assert http.put(options, json={"offset_row_s": 0.001, "row_s": 0.0001}).status_code == 200
        before = http.get(f"{suite.tautulli.root_url}/__emulator/state").json()["history_cost_s"]
        call(http, suite, cmd="get_history", start=0, length=2)
        call(http, suite, cmd="get_history", start=4, length=2)
        after = http.get(f"{suite.tautulli.root_url}/__emulator/state").json()["history_cost_s"]
    finally:
        http.put(options, json={"offset_row_s": 0.0, "row_s": 0.0})
    assert after - before == pytest.approx(2 * 2 * 0.0001 + 4 * 0.001)


def test_history_queries_are_not_cached(suite, http):
    """Every page runs the query again, so a play added between pages is seen."""
    first = call(http, suite, cmd="get_history", length=1).json()["response"]["data"]["recordsFiltered"]
    extra = dict(HISTORY[0], row_id=9999, id=9999, reference_id=9999)
    suite.tautulli.history.append(extra)
    try:
        again = call(http, suite, cmd="get_history", length=1).json()["response"]["data"]["recordsFiltered"]
    finally:
        suite.tautulli.history.remove(extra)
    assert again == first + 1
