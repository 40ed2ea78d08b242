"""Pure parsing helpers of the clients (no network)."""
from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import redact_url
from plexrecs_assets.clients.guids import parse_guids
from plexrecs_assets.clients.llm import parse_json_object
from plexrecs_assets.clients.overseerr import status_from_payload
from plexrecs_assets.clients.plex import plex_item_from_metadata
from plexrecs_assets.clients.tautulli import external_ids_from_metadata
from plexrecs_assets.clients.tmdb import details_from_payload, looks_like_v4_token, summary_from_result


def test_guids_new_agent_and_legacy_forms():
    ids = parse_guids(["imdb://tt0000001", "tmdb://12345", "tvdb://67890"])
    assert (ids.tmdb_id, ids.imdb_id, ids.tvdb_id) == (12345, "tt0000001", 67890)
    assert parse_guids([{"id": "tmdb://7"}]).tmdb_id == 7
    assert parse_guids(["com.plexapp.agents.themoviedb://603?lang=en"]).tmdb_id == 603
    assert parse_guids(["com.plexapp.agents.imdb://tt0133093?lang=en"]).imdb_id == "tt0133093"
    assert parse_guids(["com.plexapp.agents.thetvdb://121361/6/1?lang=en"]).tvdb_id == 121361
    assert parse_guids(["plex://movie/5d77", None, "garbage"]).tmdb_id is None


def test_episode_external_ids_come_from_grandparent_guids():
    meta = {"media_type": "episode", "guids": ["tmdb://2000001", "tvdb://3000001"],
            "grandparent_guids": ["imdb://tt9000000", "tmdb://90000", "tvdb://300000"]}
    ids = external_ids_from_metadata("7001", meta)
    assert ids.tmdb_id == 2000001
    assert (ids.show_tmdb_id, ids.show_imdb_id, ids.show_tvdb_id) == (90000, "tt9000000", 300000)
    assert ids.recommendable_tmdb_id == 90000
    movie = external_ids_from_metadata("5", {"media_type": "movie", "guids": ["tmdb://12"]})
    assert movie.recommendable_tmdb_id == 12 and movie.show_tmdb_id is None
    assert external_ids_from_metadata("9", {}).tmdb_id is None


def test_plex_item_keeps_legacy_items_without_tmdb():
    item = plex_item_from_metadata({"ratingKey": 42, "title": "Old", "year": "1999",
                                    "guid": "com.plexapp.agents.imdb://tt0000042?lang=en"}, "movie")
    assert item.rating_key == "42" and item.year == 1999
    assert item.tmdb_id is None and item.imdb_id == "tt0000042"


def test_tmdb_movie_and_tv_details_normalise_differently_nested_fields():
    movie = details_from_payload({
        "id": 1, "title": "A", "original_title": "A0", "release_date": "2004-05-01", "runtime": 115,
        "imdb_id": "tt1", "genres": [{"id": 18, "name": "Drama"}],
        "external_ids": {"imdb_id": "tt1"}, "keywords": {"keywords": [{"id": 9, "name": "heist"}]}}, "movie")
    assert (movie.year, movie.runtime_min, movie.imdb_id, movie.keywords) == (2004, 115, "tt1", ["heist"])
    show = details_from_payload({
        "id": 2, "name": "S", "first_air_date": "2019-03-01", "episode_run_time": [],
        "last_episode_to_air": {"runtime": 52}, "genres": [{"id": 18, "name": "Drama"}],
        "external_ids": {"imdb_id": "tt9", "tvdb_id": 300000}, "keywords": {"results": [{"id": 6, "name": "town"}]},
        "origin_country": ["US"]}, "tv")
    assert (show.title, show.year, show.runtime_min) == ("S", 2019, 52)
    assert (show.imdb_id, show.tvdb_id, show.keywords, show.countries) == ("tt9", 300000, ["town"], ["US"])


def test_tmdb_summary_and_token_shape():
    row = summary_from_result({"id": 5, "name": "S", "first_air_date": "", "genre_ids": [18]}, "tv")
    assert (row.medium, row.title, row.year, row.genre_ids) == ("tv", "S", None, [18])
    assert looks_like_v4_token("eyJhbGciOiJIUzI1NiJ9.e30.sig")
    assert not looks_like_v4_token("0123456789abcdef0123456789abcdef")


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Sure! Here you go: {"a": {"b": 2}} hope it helps', {"a": {"b": 2}}),
])
def test_parse_json_object_accepts_common_wrappings(text, expected):
    assert parse_json_object(text) == (expected, None)


@pytest.mark.parametrize("text", ["", "no json here", '{"a": 1', "[1, 2]"])
def test_parse_json_object_reports_failures_instead_of_raising(text):
    data, error = parse_json_object(text)
    assert data is None and error


def test_overseerr_absent_media_info_is_unknown():
    assert status_from_payload({"id": 1}).status == 1
    available = status_from_payload({"mediaInfo": {"status": 5, "requests": []}})
    assert available.available and not available.requested
    pending = status_from_payload({"mediaInfo": {"status": 2, "requests": [{"id": 1}]}})
    assert pending.requested and not pending.available


def test_redact_url_hides_query_secrets():
    url = "http://h/api/v2?apikey=SECRET123&cmd=get_history&api_key=K2&X-Plex-Token=T3"
    red = redact_url(url)
    assert "SECRET123" not in red and "K2" not in red and "T3" not in red and "cmd=get_history" in red


def test_retry_wait_prefers_server_hints_and_caps_them():
    import httpx

    from plexrecs_assets.clients.base import RetryPolicy

    policy = RetryPolicy(attempts=4, backoff_s=0.5, max_wait_s=10)
    assert policy.wait_for(1, httpx.Response(429, headers={"Retry-After": "3"})) == 3
    assert policy.wait_for(1, httpx.Response(429, headers={"retry-after-ms": "250", "Retry-After": "3"})) == 0.25
    assert policy.wait_for(1, httpx.Response(429, headers={"Retry-After": "3600"})) == 10
    assert [policy.wait_for(n, None) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
