"""Misses: skip and count the TMDb lookups that failed; fail only past the share."""
from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import ServiceAuthError, ServiceError
from plexrecs_assets.video.tmdb_facts import Misses, TooManyMissing


def _fails(kind: str):
    def call(*_args):
        cls = ServiceAuthError if kind == "auth" else ServiceError
        raise cls("tmdb", "http://127.0.0.1/3/movie/1", kind, "boom", 500)
    return call


def test_a_skippable_failure_returns_the_default_and_is_counted():
    misses = Misses()
    assert misses.call(lambda x: x * 2, 21) == 42
    assert misses.call(_fails("server"), 1, default=[]) == []
    assert misses.to_json() == {"lookups": 2, "failed": 1}
    assert "tmdb: server HTTP 500" in misses.last_error


@pytest.mark.parametrize("kind", ["auth", "quota"])
def test_a_rejected_key_or_spent_quota_is_never_skipped(kind):
    with pytest.raises(ServiceError):
        Misses().call(_fails(kind))


def test_one_failure_never_fails_even_among_few_lookups():
    misses = Misses()
    misses.call(_fails("server"))
    misses.check(0.2, "the pool")  # 1 of 1, but a single failure


def test_more_than_the_share_fails_naming_the_numbers():
    misses = Misses()
    for _ in range(7):
        misses.call(lambda: 1)
    for _ in range(3):
        misses.call(_fails("rate_limited"))
    misses.check(0.3, "the pool")  # exactly 30 %: allowed
    with pytest.raises(TooManyMissing, match=r"^tmdb: 3 of 10 TMDb lookups for the pool failed, more than "
                                             r"tmdb.max_missing_share=0.2 allows"):
        misses.check(0.2, "the pool")
