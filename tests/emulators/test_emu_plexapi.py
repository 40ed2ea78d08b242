"""python-plexapi, the usual Plex client, against the Plex emulator: its common calls work.

No network: the session refuses every host but the emulator's, so plexapi cannot reach plex.tv."""
from __future__ import annotations

import pytest
import requests
import requests.adapters
from plexapi import server as plexapi_server  # in the dev extra: a missing plexapi fails, never skips


class _LoopbackOnly(requests.adapters.HTTPAdapter):
    def __init__(self, allowed: str):
        super().__init__()
        self.allowed = allowed

    def send(self, request, **kwargs):
        if not request.url.startswith(self.allowed):
            raise AssertionError(f"plexapi tried to reach {request.url}")
        return super().send(request, **kwargs)


@pytest.fixture
def server(suite):
    session = requests.Session()
    guard = _LoopbackOnly(suite.plex.url)
    session.mount("http://", guard)
    session.mount("https://", guard)
    plex = plexapi_server.PlexServer(suite.plex.url, suite.keys["plex"], session=session, timeout=10)
    yield plex
    session.close()


def test_sections_listing_search_and_reload(server, suite):
    assert server.machineIdentifier == suite.plex.library.machine_identifier
    sections = {s.title: s for s in server.library.sections()}
    assert set(sections) == {"Movies", "TV Shows"}
    movies = sections["Movies"].all()
    owned = {i.title for i in suite.world.inventory if i.media_type == "movie"}
    assert {m.title for m in movies} == owned
    found = sections["Movies"].search(title="Heist")
    assert [m.title for m in found] == ["Heist Night"]
    movie = found[0]
    movie.reload()
    assert movie.year == 2010 and movie.ratingKey == 502
    assert {g.id for g in movie.guids} >= {"tmdb://104"}


def test_show_seasons_and_episodes(server, suite):
    shows = server.library.section("TV Shows")
    jinx = shows.get("The Jinx: The Life and Deaths of Robert Durst")
    seasons = jinx.seasons()
    assert [s.index for s in seasons] == [1, 2]  # the catalog says two seasons
    episodes = seasons[0].episodes()
    assert [e.index for e in episodes] == list(range(1, 9))
    assert all(e.grandparentTitle == jinx.title and e.parentIndex == 1 for e in episodes)
    assert len(jinx.episodes()) == 16
    episode = episodes[2]
    episode.reload()
    assert (episode.seasonNumber, episode.index, episode.show().ratingKey) == (1, 3, jinx.ratingKey)
    assert len(shows.search(libtype="episode")) == sum(len(show.episodes()) for show in shows.all()) > 16
