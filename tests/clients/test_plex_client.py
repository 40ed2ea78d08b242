from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import ServiceAuthError
from plexrecs_assets.clients.plex import PlexClient


def test_section_items_pages_with_container_headers(plex, suite):
    movie_section = next(s["key"] for s in plex.sections() if s["type"] == "movie")
    expected = [i for i in suite.world.inventory if i.section_id == movie_section]
    assert len(expected) > 100  # more than two pages of 50
    items = plex.section_items(movie_section, page_size=50)
    assert len(items) == len(expected)
    assert {i["ratingKey"] for i in items} == {i.rating_key for i in expected}
    calls = [r for r in suite.plex.requests() if r["path"] == f"/library/sections/{movie_section}/all"]
    assert len(calls) == -(-len(expected) // 50)
    assert all(c["query"].get("includeGuids") == "1" for c in calls)


def test_inventory_covers_movies_and_shows_and_keeps_legacy_items(plex, suite):
    scan = plex.inventory(page_size=50)
    world = suite.world.inventory
    assert scan.sections_scanned == 2
    assert len(scan.items) == len(world)
    assert {i.media_type for i in scan.items} == {"movie", "tv"}
    by_key = {i.rating_key: i for i in scan.items}
    for item in world:
        assert by_key[item.rating_key].tmdb_id == item.tmdb_id
    legacy = [i for i in world if i.tmdb_id is None]
    assert legacy and scan.legacy_without_tmdb == len(legacy)
    # kept, not dropped, and still identifiable through the legacy agent's IMDb guid
    assert all(by_key[i.rating_key].imdb_id for i in legacy if i.media_type == "movie")


def test_wrong_token_is_an_auth_error_without_the_token(env, fast):
    secret = "wrong-plex-token-xyz"
    client = PlexClient(env["PLEX_URL"], secret, retry=fast)
    with pytest.raises(ServiceAuthError) as info:
        client.sections()
    assert info.value.status == 401 and "plex" in str(info.value) and env["PLEX_URL"] in str(info.value)
    assert secret not in str(info.value)


def test_check(plex, suite, env, closed_port_url, fast):
    assert plex.check().ok
    suite.plex.set_faults(bad_credentials=True)
    bad = plex.check()
    assert not bad.ok and "bad token" in bad.fix
    down = PlexClient(closed_port_url, env["PLEX_TOKEN"], retry=fast).check()
    assert not down.ok and "server unreachable" in down.fix
