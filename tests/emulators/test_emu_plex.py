from __future__ import annotations

import xml.etree.ElementTree as ET

JSON = {"Accept": "application/json"}


def test_identity_needs_no_token(suite, http):
    r = http.get(f"{suite.plex.url}/identity", headers=JSON)
    assert r.status_code == 200
    assert r.json()["MediaContainer"]["machineIdentifier"] == "00aa11bb22cc33dd44ee55ff6677889900aabbcc"


def test_missing_or_wrong_token_is_401_with_html_body(suite, http):
    for headers in (JSON, {**JSON, "X-Plex-Token": "wrong"}):
        r = http.get(f"{suite.plex.url}/library/sections", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("text/html")
        assert "Unauthorized" in r.text


def test_sections_with_token_as_header_or_query(suite, http):
    by_header = http.get(f"{suite.plex.url}/library/sections", headers={**JSON, "X-Plex-Token": suite.keys["plex"]})
    by_query = http.get(f"{suite.plex.url}/library/sections", headers=JSON, params={"X-Plex-Token": suite.keys["plex"]})
    assert by_header.status_code == by_query.status_code == 200
    dirs = by_header.json()["MediaContainer"]["Directory"]
    assert [(d["key"], d["type"], d["title"]) for d in dirs] == [("1", "movie", "Movies"), ("2", "show", "TV Shows")]
    assert by_query.json() == by_header.json()


def _all(http, suite, section, headers=None, **params):
    return http.get(f"{suite.plex.url}/library/sections/{section}/all",
                    headers={**JSON, "X-Plex-Token": suite.keys["plex"], **(headers or {})},
                    params={"includeGuids": "1", **params})


def test_section_items_with_guids(suite, http):
    r = _all(http, suite, 1)
    mc = r.json()["MediaContainer"]
    assert mc["size"] == mc["totalSize"] == 5 and mc["offset"] == 0
    assert r.headers["X-Plex-Container-Total-Size"] == "5"
    items = {m["title"]: m for m in mc["Metadata"]}
    imposter = items["The Imposter"]
    assert imposter["ratingKey"] == "501" and imposter["type"] == "movie" and imposter["year"] == 2012
    assert imposter["key"] == "/library/metadata/501"
    assert imposter["guid"].startswith("plex://movie/")
    assert {"id": "tmdb://101"} in imposter["Guid"]
    legacy = items["Battle Front"]
    assert "Guid" not in legacy
    assert legacy["guid"].startswith("com.plexapp.agents.imdb://tt") and legacy["guid"].endswith("?lang=en")


def test_guids_only_with_include_guids(suite, http):
    r = http.get(f"{suite.plex.url}/library/sections/1/all", headers={**JSON, "X-Plex-Token": suite.keys["plex"]})
    assert all("Guid" not in m for m in r.json()["MediaContainer"]["Metadata"])


def test_show_section_and_legacy_show_guid(suite, http):
    items = {m["title"]: m for m in _all(http, suite, 2).json()["MediaContainer"]["Metadata"]}
    assert items["Desert Patrol"]["type"] == "show"
    assert items["Desert Patrol"]["guid"].startswith("plex://show/")
    assert {"id": "tmdb://205"} in items["Desert Patrol"]["Guid"]
    assert items["Cozy Valley"]["guid"].startswith("com.plexapp.agents.thetvdb://")


def test_paging_by_headers_and_by_query(suite, http):
    seen = []
    for start in (0, 2, 4):
        r = _all(http, suite, 1, headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": "2"})
        mc = r.json()["MediaContainer"]
        assert mc["totalSize"] == 5 and mc["offset"] == start
        assert r.headers["X-Plex-Container-Start"] == str(start)
        seen += [m["ratingKey"] for m in mc["Metadata"]]
    assert sorted(seen) == ["501", "502", "503", "504", "505"]
    by_query = _all(http, suite, 1, **{"X-Plex-Container-Start": "4", "X-Plex-Container-Size": "2"})
    assert by_query.json()["MediaContainer"]["size"] == 1


def test_size_zero_returns_only_the_count(suite, http):
    mc = _all(http, suite, 1, headers={"X-Plex-Container-Size": "0"}).json()["MediaContainer"]
    assert (mc["size"], mc["totalSize"], mc["Metadata"]) == (0, 5, [])


def test_unknown_section_is_404(suite, http):
    assert _all(http, suite, 9).status_code == 404


def test_xml_without_json_accept(suite, http):
    r = http.get(f"{suite.plex.url}/library/sections/1/all",
                 headers={"X-Plex-Token": suite.keys["plex"]}, params={"includeGuids": "1"})
    assert r.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "MediaContainer" and root.get("totalSize") == "5"
    video = next(v for v in root.findall("Video") if v.get("ratingKey") == "501")
    assert [g.get("id") for g in video.findall("Guid")][1] == "tmdb://101"


def test_library_children_all_leaves_and_filters(suite, http):
    auth = {**JSON, "X-Plex-Token": suite.keys["plex"]}
    root = http.get(f"{suite.plex.url}/library", headers=auth)
    assert root.status_code == 200
    assert {d["key"] for d in root.json()["MediaContainer"]["Directory"]} >= {"sections"}
    sections = http.get(f"{suite.plex.url}/library/sections", headers=auth)
    assert sections.headers["X-Plex-Container-Total-Size"] == "2"
    assert sections.json()["MediaContainer"]["identifier"] == "com.plexapp.plugins.library"
    seasons = http.get(f"{suite.plex.url}/library/metadata/601/children", headers=auth).json()["MediaContainer"]
    assert [s["index"] for s in seasons["Metadata"]] == [1, 2] and seasons["Metadata"][0]["type"] == "season"
    leaves = http.get(f"{suite.plex.url}/library/metadata/601/allLeaves", headers=auth).json()["MediaContainer"]
    assert leaves["totalSize"] == 16 and {e["type"] for e in leaves["Metadata"]} == {"episode"}
    season_key = seasons["Metadata"][1]["ratingKey"]
    episodes = http.get(f"{suite.plex.url}/library/metadata/{season_key}/children", headers=auth).json()
    assert [e["parentIndex"] for e in episodes["MediaContainer"]["Metadata"]] == [2] * 8
    assert http.get(f"{suite.plex.url}/library/metadata/999999/children", headers=auth).status_code == 404
    titled = _all(http, suite, 1, title="heist").json()["MediaContainer"]
    assert [m["title"] for m in titled["Metadata"]] == ["Heist Night"] and titled["totalSize"] == 1
    assert _all(http, suite, 1, type="2").json()["MediaContainer"]["totalSize"] == 0  # no shows among movies
    assert _all(http, suite, 2, type="3").json()["MediaContainer"]["Metadata"][0]["type"] == "season"
    assert _all(http, suite, 2, type="99").status_code == 400
