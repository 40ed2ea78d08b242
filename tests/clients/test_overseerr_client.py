from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import ServiceAuthError
from plexrecs_assets.clients.overseerr import OverseerrClient


def _owned(suite, medium):
    kind = "movie" if medium == "movie" else "show"
    return next(i for i in suite.world.inventory if i.media_type == kind and i.tmdb_id)


def _not_owned(suite, medium, skip=0):
    owned = {i.tmdb_id for i in suite.world.inventory}
    free = [t for (m, tid), t in sorted(suite.world.titles.items()) if m == medium and tid not in owned]
    return free[skip]


def test_media_status_available_and_absent(overseerr, suite):
    owned = overseerr.media_status(_owned(suite, "movie").tmdb_id, "movie")
    assert (owned.status, owned.available, owned.requested, owned.unknown_id) == (5, True, False, False)
    absent = overseerr.media_status(_not_owned(suite, "movie", skip=5).tmdb_id, "movie")
    assert (absent.status, absent.available, absent.requested, absent.unknown_id) == (1, False, False, False)


def test_unknown_tmdb_id_is_reported_after_a_single_retry(overseerr, suite):
    status = overseerr.media_status(999_999_999, "movie")
    assert status.unknown_id and status.status == 1 and not status.available
    assert len(suite.overseerr.requests()) == 2


def test_movie_request_created_then_duplicate(overseerr, suite):
    movie = _not_owned(suite, "movie")
    created = overseerr.request(movie.tmdb_id, "movie")
    assert created.created and created.request_id and created.status == 2
    again = overseerr.request(movie.tmdb_id, "movie")
    assert again.duplicate and not again.created and again.request_id is None
    assert overseerr.media_status(movie.tmdb_id, "movie").requested


def test_tv_request_asks_for_season_one_explicitly(overseerr, suite):
    show = _not_owned(suite, "tv")
    outcome = overseerr.request(show.tmdb_id, "tv")
    assert outcome.created
    stored = next(r for r in suite.overseerr.state()["requests"] if r["id"] == outcome.request_id)
    assert [s["seasonNumber"] for s in stored["seasons"]] == [1]


def test_tv_request_with_nothing_left_to_request(overseerr, suite):
    outcome = overseerr.request(_owned(suite, "tv").tmdb_id, "tv", seasons=[1])
    assert outcome.no_seasons and not outcome.created and not outcome.duplicate


def test_wrong_key_is_an_auth_error_without_the_key(env, fast):
    secret = "wrong-overseerr-key"
    with pytest.raises(ServiceAuthError) as info:
        OverseerrClient(env["OVERSEERR_URL"], secret, retry=fast).media_status(1, "movie")
    assert info.value.status == 403 and secret not in str(info.value) and "overseerr" in str(info.value)


def test_check(overseerr, suite, env, closed_port_url, fast):
    assert overseerr.check().ok
    suite.overseerr.set_faults(bad_credentials=True)
    bad = overseerr.check()
    assert not bad.ok and "bad API key" in bad.fix
    down = OverseerrClient(closed_port_url, "k", retry=fast).check()
    assert not down.ok and "server unreachable" in down.fix


def test_duplicate_is_detected_because_is4k_is_sent(overseerr, suite):
    """Overseerr compares is4k when it looks for an earlier request; without it a repeat would
    be created instead of answering 409."""
    movie = _not_owned(suite, "movie", skip=7)
    assert overseerr.request(movie.tmdb_id, "movie").created
    assert overseerr.request(movie.tmdb_id, "movie").duplicate
    stored = [r for r in suite.overseerr.state()["requests"] if r["media"]["tmdbId"] == movie.tmdb_id]
    assert len(stored) == 1 and stored[0]["is4k"] is False


def test_available_movie_is_requested_by_the_server_so_callers_check_first(overseerr, suite):
    owned = _owned(suite, "movie")
    assert overseerr.media_status(owned.tmdb_id, "movie").available
    outcome = overseerr.request(owned.tmdb_id, "movie")
    assert outcome.created and not outcome.duplicate
