"""A service that answers too slowly: the call gives up after the resource's timeout and
reports which service timed out, never the secret; the next call after recovery works.

The pipeline's resources take their timeout from code (app.yml has only the LLM's
``recommender.timeout_s``, covered by test_service_faults), so the other services are
exercised here through the same Dagster resources the pipeline builds its clients from.
"""
from __future__ import annotations

import pytest

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.demo import secrets_env
from plexrecs_assets.defs.shared.resources import (
    LlmResource,
    OverseerrResource,
    PlexResource,
    TautulliResource,
    TmdbResource,
)

FAST = {"timeout_s": 0.25, "retries": 2, "retry_backoff_s": 0.01}


def _resource(name: str, env: dict):
    if name == "tautulli":
        return TautulliResource(base_url=env["TAUTULLI_URL"], api_key=env["TAUTULLI_API_KEY"], **FAST)
    if name == "plex":
        return PlexResource(base_url=env["PLEX_URL"], token=env["PLEX_TOKEN"], **FAST)
    if name == "tmdb":
        return TmdbResource(base_url=env["TMDB_API_BASE"], api_key=env["TMDB_API_KEY"], **FAST)
    if name == "llm":
        return LlmResource(base_url=env["LLM_API_BASE"], api_key=env["LLM_API_KEY"], model="gpt-4o-mini", **FAST)
    return OverseerrResource(base_url=env["OVERSEERR_URL"], api_key=env["OVERSEERR_API_KEY"], **FAST)


def _call(name: str, client, suite):
    """One real read the pipeline makes of each service."""
    if name == "tautulli":
        return len(client.get_history(page_size=500)) > 0
    if name == "plex":
        return len(client.inventory().items) > 0
    if name == "tmdb":
        return client.details(268, "movie").title
    if name == "llm":
        return client.complete_json("Answer with JSON.", '{"category": "Cozy", "count": 1}', {"type": "object"}).data is not None
    owned = next(i for i in suite.world.inventory if i.media_type == "movie" and i.tmdb_id)
    return client.media_status(owned.tmdb_id, "movie").available


@pytest.mark.parametrize("name", ["tautulli", "plex", "tmdb", "llm", "overseerr"])
def test_slow_service_times_out_naming_the_service_then_recovers(name, suite):
    env = suite.env()
    resource = _resource(name, env)
    with resource.client() as client:
        healthy = _call(name, client, suite)
        getattr(suite, name).set_faults(latency_s=1.5)
        with pytest.raises(ServiceError) as info:
            _call(name, client, suite)
        error = info.value
        assert error.service == name and error.kind == "unreachable"
        assert str(error).startswith(f"{name}: unreachable") and "Timeout" in str(error)
        assert "after 2 attempt(s)" in str(error)
        for secret in secrets_env(env).values():
            assert secret not in str(error)
        getattr(suite, name).set_faults(latency_s=0.0)
        assert _call(name, client, suite) == healthy
