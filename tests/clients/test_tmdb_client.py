from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import ServiceAuthError, ServiceError
from plexrecs_assets.clients.tmdb import TitleSummary, TmdbClient


def _a_title(suite, medium, **want):
    return next(t for (m, _), t in suite.world.titles.items() if m == medium
                and all(getattr(t, k) if v is True else getattr(t, k) == v for k, v in want.items()))


def test_movie_details_normalise_keywords_and_imdb(tmdb, suite):
    movie = _a_title(suite, "movie", keywords=True, imdb_id=True, runtime_min=True)
    details = tmdb.details(movie.tmdb_id, "movie")
    assert (details.tmdb_id, details.medium, details.title) == (movie.tmdb_id, "movie", movie.title)
    assert details.keywords == list(movie.keywords)  # read from keywords.keywords
    assert details.genres == list(movie.genres)
    assert details.imdb_id == movie.imdb_id and details.runtime_min == movie.runtime_min
    assert details.year == int(movie.date[:4])
    query = next(r for r in suite.tmdb.requests() if r["path"] == f"/3/movie/{movie.tmdb_id}")["query"]
    assert query["append_to_response"] == "external_ids,keywords"


def test_tv_details_normalise_keywords_imdb_and_tvdb(tmdb, suite):
    show = _a_title(suite, "tv", keywords=True, imdb_id=True, tvdb_id=True)
    details = tmdb.details(show.tmdb_id, "tv")
    assert (details.medium, details.title) == ("tv", show.title)
    assert details.keywords == list(show.keywords)  # read from keywords.results
    assert details.imdb_id == show.imdb_id and details.tvdb_id == show.tvdb_id
    assert details.runtime_min == show.runtime_min


def test_search_with_year_disambiguates_same_name_titles(tmdb):
    unfiltered = {r["id"] for r in tmdb.search("Batman")}
    assert {2661, 268} <= unfiltered
    assert [(r["id"], r["release_date"][:4]) for r in tmdb.search("Batman", 1966)] == [(2661, "1966")]
    assert [(r["id"], r["release_date"][:4]) for r in tmdb.search("Batman", 1989)] == [(268, "1989")]
    normalised = tmdb.search_titles("Batman", 1989)
    assert [(t.tmdb_id, t.medium, t.title, t.year) for t in normalised] == [(268, "movie", "Batman", 1989)]


def test_search_tv_uses_first_air_date_year(tmdb, suite):
    show = _a_title(suite, "tv", date=True)
    year = int(show.date[:4])
    hits = tmdb.search_titles(show.title, year, medium="tv")
    assert any(h.tmdb_id == show.tmdb_id and h.medium == "tv" and h.year == year for h in hits)
    assert not any(h.tmdb_id == show.tmdb_id for h in tmdb.search_titles(show.title, year + 3, medium="tv"))
    query = [r["query"] for r in suite.tmdb.requests() if r["path"] == "/3/search/tv"][0]
    assert query["first_air_date_year"] == str(year) and "primary_release_year" not in query


def test_lists_are_normalised(tmdb):
    genres = tmdb.genres("movie")
    assert genres["Drama"] == 18
    found = tmdb.discover("movie", with_genres=[genres["Horror"]])
    assert found and all(genres["Horror"] in t.genre_ids for t in found)
    assert all(t.medium == "movie" and t.title for t in found)
    recs = tmdb.recommendations(268, "movie") + tmdb.similar(268, "movie")
    assert recs and all(isinstance(t, TitleSummary) and t.tmdb_id != 268 for t in recs)


def test_genres_are_cached_per_client(tmdb, suite):
    first = tmdb.genres("tv")
    assert tmdb.genres("tv") == first and "Drama" in first
    assert len([r for r in suite.tmdb.requests() if r["path"] == "/3/genre/tv/list"]) == 1


def test_keyword_ids(tmdb, suite):
    movie = _a_title(suite, "movie", keywords=True)
    ids = tmdb.keyword_ids([movie.keywords[0], "zzz-no-such-keyword-zzz"])
    assert len(ids) == 1
    assert tmdb.discover("movie", with_keywords=ids)


def test_unknown_id_is_not_found(tmdb):
    with pytest.raises(ServiceError) as info:
        tmdb.details(999_999_999, "movie")
    assert info.value.kind == "not_found"


def test_v4_token_goes_in_the_bearer_header(env, fast, suite, jwt_bearer):
    for client in (TmdbClient(env["TMDB_API_BASE"], api_key=jwt_bearer, retry=fast),
                   TmdbClient(env["TMDB_API_BASE"], bearer_token=jwt_bearer, retry=fast)):
        # the emulator accepts this token only in "Authorization: Bearer", never as ?api_key=
        assert client.genres("movie")["Drama"] == 18


def test_wrong_key_is_an_auth_error_without_the_key(env, fast):
    secret = "0123456789abcdef0123456789abcdef"
    with pytest.raises(ServiceAuthError) as info:
        TmdbClient(env["TMDB_API_BASE"], api_key=secret, retry=fast).details(268, "movie")
    assert info.value.status == 401 and secret not in str(info.value) and "api_key=***" in str(info.value)


def test_check(tmdb, suite, env, closed_port_url, fast):
    assert tmdb.check().ok
    suite.tmdb.set_faults(bad_credentials=True)
    bad = tmdb.check()
    assert not bad.ok and "bad API key" in bad.fix
    down = TmdbClient(closed_port_url + "/3", api_key="k" * 32, retry=fast).check()
    assert not down.ok and "server unreachable" in down.fix


def test_discover_page_reports_total_pages_and_and_semantics(tmdb, suite):
    genres = tmdb.genres("movie")
    both = f"{genres['Documentary']},{genres['Crime']}"
    either = f"{genres['Documentary']}|{genres['Crime']}"
    rows_and, total_and = tmdb.discover_page("movie", 1, with_genres=both)
    rows_or, total_or = tmdb.discover_page("movie", 1, with_genres=either)
    assert rows_and and all({genres["Documentary"], genres["Crime"]} <= set(t.genre_ids) for t in rows_and)
    assert total_or > total_and >= 1
    last, _ = tmdb.discover_page("movie", total_or, with_genres=either)
    beyond, _ = tmdb.discover_page("movie", total_or + 1, with_genres=either)
    assert last and beyond == []
    query = [r["query"] for r in suite.tmdb.requests() if r["path"] == "/3/discover/movie"][-1]
    assert query["page"] == str(total_or + 1) and query["with_genres"] == either


def test_a_show_removed_from_plex_resolves_from_its_season_one_year(tmdb):
    """Wild Wild Country left the library (Tautulli's get_metadata answers {}), three episodes
    watched at 95%: the roll-up's year comes from the season-1 rows, so strict resolution
    finds the show instead of leaving it unseen (and in candidate pools)."""
    from plexrecs_assets.video.history import roll_up_history
    from plexrecs_assets.video.resolve import verify_item

    rows = [{"row_id": n, "media_type": "episode", "date": 1700000000 + n * 3600, "user_id": 1,
             "grandparent_rating_key": 88001, "grandparent_title": "Wild Wild Country", "rating_key": 88010 + n,
             "parent_media_index": 1, "media_index": n, "year": 2018, "percent_complete": 95,
             "guid": "plex://episode/5d9c0000000000000000aa0%d" % n} for n in (1, 2, 3)]
    show = roll_up_history(rows).titles[("tv", "88001")]
    assert (show.title, show.year, len(show.completed_episodes)) == ("Wild Wild Country", 2018, 3)
    verdict = verify_item({"title": show.title, "year": show.year}, "tv",
                          lambda t, y, m: tmdb.search_titles(t, y, m))
    assert verdict.accepted and verdict.tmdb_id == 77752


def test_legacy_episode_guid_gives_the_show_tvdb_id_and_find_maps_it(tmdb, suite):
    from plexrecs_assets.video.history import roll_up_history

    show = next(t for t in suite.world.titles.values() if t.medium == "tv" and t.tvdb_id)
    rows = [{"row_id": 1, "media_type": "episode", "date": 1700000000, "grandparent_rating_key": 5,
             "grandparent_title": show.title, "rating_key": 6, "parent_media_index": 3, "year": 2030,
             "guid": f"com.plexapp.agents.thetvdb://{show.tvdb_id}/3/1?lang=en"}]
    entry = roll_up_history(rows).titles[("tv", "5")]
    assert entry.year is None  # a later season's year is not the show's
    assert entry.tvdb_id == show.tvdb_id and tmdb.find_tv_by_tvdb(entry.tvdb_id) == show.tmdb_id
