from __future__ import annotations

import pytest

from plexrecs_emulators.catalog import MOVIE_GENRES, TV_GENRES


def get(http, suite, path, key=None, **params):
    key = suite.keys["tmdb"] if key is None else key
    return http.get(f"{suite.tmdb.url}{path}", params={"api_key": key, **params})


def titles(r):
    return [x.get("title") or x.get("name") for x in r.json()["results"]]


@pytest.mark.parametrize("key", ["wrong", ""])
def test_bad_key_is_401_status_code_7(suite, http, key):
    r = get(http, suite, "/search/movie", key=key, query="host")
    assert r.status_code == 401
    assert r.json() == {"success": False, "status_code": 7,
                        "status_message": "Invalid API key: You must be granted a valid key."}


def test_v4_bearer_token_is_accepted(suite, http):
    r = http.get(f"{suite.tmdb.url}/genre/movie/list",
                 headers={"Authorization": f"Bearer {suite.keys['tmdb_bearer']}"})
    assert r.status_code == 200
    r = http.get(f"{suite.tmdb.url}/genre/movie/list", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_search_is_case_accent_and_punctuation_insensitive(suite, http):
    assert titles(get(http, suite, "/search/movie", query="AMELIE")) == ["Amélie"]
    assert titles(get(http, suite, "/search/movie", query="spider man")) == ["Spider-Man"]
    assert titles(get(http, suite, "/search/movie", query="spiderman")) == ["Spider-Man"]
    assert titles(get(http, suite, "/search/movie", query="fabuleux destin")) == ["Amélie"]  # original title
    assert titles(get(http, suite, "/search/tv", query="the jinx")) == ["The Jinx: The Life and Deaths of Robert Durst"]


def test_search_is_not_fuzzy(suite, http):
    r = get(http, suite, "/search/movie", query="Heist Nihgt")
    assert r.status_code == 200
    assert r.json() == {"page": 1, "results": [], "total_pages": 1, "total_results": 0}


def test_search_year_filters_and_same_name_ranking(suite, http):
    both = get(http, suite, "/search/movie", query="The Host").json()["results"]
    assert [(m["id"], m["release_date"]) for m in both] == [(111, "2013-03-22"), (110, "2006-07-27")]  # popularity
    only = get(http, suite, "/search/movie", query="The Host", primary_release_year=2006).json()["results"]
    assert [m["id"] for m in only] == [110]
    assert [m["id"] for m in get(http, suite, "/search/movie", query="host", year=2013).json()["results"]] == [111]
    tv = get(http, suite, "/search/tv", query="making a murderer", first_air_date_year=2014).json()
    assert tv["total_results"] == 0


def test_search_result_fields_movie_vs_tv(suite, http):
    movie = get(http, suite, "/search/movie", query="imposter").json()["results"][0]
    assert {"id", "title", "original_title", "release_date", "genre_ids", "overview", "popularity",
            "vote_average", "vote_count", "original_language", "poster_path"} <= set(movie)
    assert movie["genre_ids"] == [99, 80] and movie["poster_path"] is None
    assert "name" not in movie and "media_type" not in movie
    assert movie["overview"].startswith("Documentary, Crime: ")
    show = get(http, suite, "/search/tv", query="making").json()["results"][0]
    assert {"name", "original_name", "first_air_date", "origin_country"} <= set(show)
    assert "title" not in show and show["origin_country"] == ["US"]


def test_movie_details_with_appends(suite, http):
    r = get(http, suite, "/movie/101", append_to_response="external_ids,keywords")
    body = r.json()
    assert body["title"] == "The Imposter" and body["release_date"] == "2012-07-13" and body["runtime"] == 99
    assert body["imdb_id"].startswith("tt") and body["external_ids"]["imdb_id"] == body["imdb_id"]
    assert [k["name"] for k in body["keywords"]["keywords"]][:2] == ["true crime", "impostor"]
    assert "results" not in body["keywords"]
    assert body["genres"] == [{"id": 99, "name": "Documentary"}, {"id": 80, "name": "Crime"}]


def test_tv_details_with_appends(suite, http):
    body = get(http, suite, "/tv/201", append_to_response="external_ids,keywords").json()
    assert body["name"].startswith("The Jinx") and body["first_air_date"] == "2015-02-08"
    assert "imdb_id" not in body and "title" not in body and "runtime" not in body
    assert body["external_ids"] == {**body["external_ids"], "imdb_id": "tt4299972", "tvdb_id": 289080}
    assert body["last_episode_to_air"]["runtime"] == 45
    assert isinstance(body["episode_run_time"], list)
    assert "keywords" not in body["keywords"] and body["keywords"]["results"][0]["name"] == "true crime"
    assert body["number_of_seasons"] == 2 and [s["season_number"] for s in body["seasons"]] == [1, 2]


def test_tv_genres_use_tv_list_names(suite, http):
    body = get(http, suite, "/tv/204").json()
    assert {"id": 10765, "name": "Sci-Fi & Fantasy"} in body["genres"]


def test_unknown_id_is_404_status_code_34(suite, http):
    for path in ("/movie/999999", "/tv/101", "/movie/abc", "/movie/999999/recommendations"):
        r = get(http, suite, path)
        assert r.status_code == 404
        assert r.json()["status_code"] == 34


def test_keyword_ids_are_stable_and_searchable(suite, http):
    kw = get(http, suite, "/search/keyword", query="true crime").json()["results"]
    assert kw[0]["name"] == "true crime"
    ids = [k["id"] for k in get(http, suite, "/movie/102/keywords").json()["keywords"]]
    assert kw[0]["id"] in ids
    found = get(http, suite, "/discover/movie", with_keywords=str(kw[0]["id"])).json()["results"]
    assert {m["id"] for m in found} == {101, 102, 103}


def test_discover_genre_logic(suite, http):
    def ids(**params):
        return {m["id"] for m in get(http, suite, "/discover/movie", **params).json()["results"]}

    assert ids(with_genres="99,35") == {103}  # comma = AND
    assert ids(with_genres="27|10752") == {110, 112, 113}  # pipe = OR
    assert 103 not in ids(with_genres="99", without_genres="35")
    popular = get(http, suite, "/discover/movie", sort_by="vote_count.desc").json()["results"]
    assert popular[0]["id"] == 109
    assert {m["id"] for m in get(http, suite, "/discover/tv", with_genres="99", first_air_date_year=2015)
            .json()["results"]} == {201, 202}


def test_genre_lists_use_tmdb_ids(suite, http):
    movie = {g["name"]: g["id"] for g in get(http, suite, "/genre/movie/list").json()["genres"]}
    assert movie["Science Fiction"] == 878
    # Exactly TMDb's lists: no retired "Foreign" genre, although a tiny-world title carries it.
    assert movie == MOVIE_GENRES and "Foreign" not in movie
    tv = {g["name"]: g["id"] for g in get(http, suite, "/genre/tv/list").json()["genres"]}
    assert tv == TV_GENRES


def test_recommendations_and_similar_are_same_medium_and_ranked(suite, http):
    recs = get(http, suite, "/movie/102/recommendations").json()
    ids = [m["id"] for m in recs["results"]]
    assert 102 not in ids and ids[:2] == [101, 103]  # the true-crime documentaries share most
    assert all(m.get("title") for m in recs["results"])
    similar = [m["id"] for m in get(http, suite, "/tv/201/similar").json()["results"]]
    assert similar[0] == 202 and 201 not in similar
    assert get(http, suite, "/movie/102/recommendations").json() == recs  # deterministic
    assert {m["media_type"] for m in recs["results"]} == {"movie"}
    tv_recs = get(http, suite, "/tv/201/recommendations").json()["results"]
    assert tv_recs and {m["media_type"] for m in tv_recs} == {"tv"}
    appended = get(http, suite, "/movie/102", append_to_response="recommendations").json()
    assert {m["media_type"] for m in appended["recommendations"]["results"]} == {"movie"}


def test_tv_details_have_production_countries_and_spoken_languages(suite, http):
    body = get(http, suite, "/tv/201").json()
    assert body["production_countries"] == [{"iso_3166_1": "US", "name": "US"}]
    assert [lang["iso_639_1"] for lang in body["spoken_languages"]] == ["en"]


def test_find_by_imdb_id(suite, http):
    r = get(http, suite, "/find/tt5189670", external_source="imdb_id").json()
    assert [t["id"] for t in r["tv_results"]] == [202] and r["movie_results"] == []


def test_pagination_on_the_demo_world(emulators, http):
    def page(n):
        return http.get(f"{emulators.tmdb.url}/search/movie",
                        params={"api_key": emulators.keys["tmdb"], "query": "the", "page": n})

    first, second = page(1).json(), page(2).json()
    assert len(first["results"]) == 20 and first["total_results"] > 40
    assert first["total_pages"] == -(-first["total_results"] // 20)
    assert not {m["id"] for m in first["results"]} & {m["id"] for m in second["results"]}
    bad = page(0)
    assert bad.status_code == 400 and bad.json()["status_code"] == 22
