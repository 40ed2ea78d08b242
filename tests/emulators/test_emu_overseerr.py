from __future__ import annotations

import pytest


def api(suite, path):
    return f"{suite.overseerr.url}/api/v1{path}"


def auth(suite):
    return {"X-Api-Key": suite.keys["overseerr"]}


def test_status_is_public(suite, http):
    r = http.get(api(suite, "/status"))
    assert r.status_code == 200 and "version" in r.json()


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}])
def test_protected_routes_need_the_key(suite, http, headers):
    r = http.get(api(suite, "/auth/me"), headers=headers)
    assert r.status_code == 403
    assert r.json() == {"status": 403, "error": "You do not have permission to access this endpoint"}


def test_auth_me_is_the_admin(suite, http):
    me = http.get(api(suite, "/auth/me"), headers=auth(suite)).json()
    assert me["id"] == 1 and me["permissions"] == 2


def test_owned_movie_is_available(suite, http):
    body = http.get(api(suite, "/movie/101"), headers=auth(suite)).json()
    assert body["title"] == "The Imposter" and body["releaseDate"] == "2012-07-13"
    assert body["externalIds"]["imdbId"] == body["imdbId"]
    assert body["mediaInfo"]["status"] == 5 and body["mediaInfo"]["tmdbId"] == 101


def test_unknown_to_overseerr_has_no_media_info(suite, http):
    body = http.get(api(suite, "/movie/105"), headers=auth(suite)).json()
    assert body["title"] == "Zodiac Hunter"
    assert "mediaInfo" not in body


def test_tv_details_are_camel_case(suite, http):
    body = http.get(api(suite, "/tv/202"), headers=auth(suite)).json()
    assert body["name"] == "Making a Murderer" and body["firstAirDate"] == "2015-12-18"
    assert body["numberOfSeasons"] == 2 and body["externalIds"]["tvdbId"] == 303211
    assert "mediaInfo" not in body


def test_unknown_tmdb_id_is_500(suite, http):
    r = http.get(api(suite, "/movie/999999"), headers=auth(suite))
    assert (r.status_code, r.json()) == (500, {"message": "Unable to retrieve movie."})


def test_movie_request_then_duplicate(_tiny_suite, http):
    suite = _tiny_suite
    body = {"mediaType": "movie", "mediaId": 112, "is4k": False}
    r = http.post(api(suite, "/request"), headers=auth(suite), json=body)
    assert r.status_code == 201
    created = r.json()
    assert created["status"] == 2 and created["media"]["tmdbId"] == 112 and created["media"]["status"] in (2, 3)
    again = http.post(api(suite, "/request"), headers=auth(suite), json=body)
    assert again.status_code == 409
    info = http.get(api(suite, "/movie/112"), headers=auth(suite)).json()["mediaInfo"]
    assert info["status"] in (2, 3) and [q["id"] for q in info["requests"]] == [created["id"]]
    state = http.get(f"{suite.overseerr.root_url}/__emulator/state").json()
    assert any(q["media"]["tmdbId"] == 112 for q in state["requests"])


def test_tv_request_seasons_then_nothing_left(_tiny_suite, http):
    suite = _tiny_suite
    first = http.post(api(suite, "/request"), headers=auth(suite), json={"mediaType": "tv", "mediaId": 204,
                                                                         "seasons": [1]})
    assert first.status_code == 201
    assert [s["seasonNumber"] for s in first.json()["seasons"]] == [1]
    again = http.post(api(suite, "/request"), headers=auth(suite), json={"mediaType": "tv", "mediaId": 204,
                                                                         "seasons": "all"})
    assert (again.status_code, again.json()) == (202, {"message": "No seasons available to request"})


def test_requesting_an_available_show_has_no_seasons_left(suite, http):
    r = http.post(api(suite, "/request"), headers=auth(suite), json={"mediaType": "tv", "mediaId": 201,
                                                                     "seasons": "all"})
    assert r.status_code == 202


def test_bad_request_body_names_the_field(suite, http):
    r = http.post(api(suite, "/request"), headers=auth(suite), json={"mediaType": "book", "mediaId": 1})
    assert r.status_code == 400 and "mediaType" in r.json()["message"]


def test_duplicate_detection_compares_is4k_like_mediarequest_ts(_tiny_suite, http):
    """``request.is4k = :is4k`` with no is4k in the body finds no earlier request: a repeat is
    created. A 4K request is not a duplicate of the HD one."""
    suite = _tiny_suite
    without = {"mediaType": "movie", "mediaId": 111}
    assert http.post(api(suite, "/request"), headers=auth(suite), json=without).status_code == 201
    assert http.post(api(suite, "/request"), headers=auth(suite), json=without).status_code == 201
    hd = {**without, "is4k": False}
    assert http.post(api(suite, "/request"), headers=auth(suite), json=hd).status_code == 409
    four_k = {**without, "is4k": True}
    assert http.post(api(suite, "/request"), headers=auth(suite), json=four_k).status_code == 201
    assert http.post(api(suite, "/request"), headers=auth(suite), json=four_k).status_code == 409
    bad = {**without, "is4k": "no"}
    assert http.post(api(suite, "/request"), headers=auth(suite), json=bad).status_code == 400


def test_available_movie_never_requested_gets_a_request_not_409(_tiny_suite, http):
    suite = _tiny_suite
    owned = http.get(api(suite, "/movie/104"), headers=auth(suite)).json()["mediaInfo"]
    assert owned["status"] == 5 and owned["requests"] == []
    r = http.post(api(suite, "/request"), headers=auth(suite), json={"mediaType": "movie", "mediaId": 104,
                                                                     "is4k": False})
    assert r.status_code == 201
    info = http.get(api(suite, "/movie/104"), headers=auth(suite)).json()["mediaInfo"]
    assert info["status"] == 5 and [q["id"] for q in info["requests"]] == [r.json()["id"]]
