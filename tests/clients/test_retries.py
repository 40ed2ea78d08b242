"""Retry behaviour of every client against the emulators' injected faults."""
from __future__ import annotations

import json

import pytest

from plexrecs_assets.clients.base import RetryPolicy, ServiceError
from plexrecs_assets.clients.llm import LlmClient
from plexrecs_assets.clients.overseerr import OverseerrClient
from plexrecs_assets.clients.plex import PlexClient
from plexrecs_assets.clients.tautulli import TautulliClient
from plexrecs_assets.clients.tmdb import TmdbClient
from plexrecs_assets.engines.prompt import OUTPUT_SCHEMA

SERVICES = ("tautulli", "plex", "tmdb", "llm", "overseerr")
SCHEMA = OUTPUT_SCHEMA  # valid in strict mode, so json_schema is accepted on the first try


def _client(name, env, retry, timeout_s=10.0):
    if name == "tautulli":
        return TautulliClient(env["TAUTULLI_URL"], env["TAUTULLI_API_KEY"], timeout_s=timeout_s, retry=retry)
    if name == "plex":
        return PlexClient(env["PLEX_URL"], env["PLEX_TOKEN"], timeout_s=timeout_s, retry=retry)
    if name == "tmdb":
        return TmdbClient(env["TMDB_API_BASE"], api_key=env["TMDB_API_KEY"], timeout_s=timeout_s, retry=retry)
    if name == "llm":
        return LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], "gpt-4o-mini", timeout_s, retry=retry)
    return OverseerrClient(env["OVERSEERR_URL"], env["OVERSEERR_API_KEY"], timeout_s=timeout_s, retry=retry)


def _one_call(name, client, suite):
    """A representative read for each service; returns something that proves the body was understood."""
    if name == "tautulli":
        return len(client.get_users())
    if name == "plex":
        return len(client.sections())
    if name == "tmdb":
        return client.details(268, "movie").title
    if name == "llm":
        return client.complete_json("s", json.dumps({"category": "Cozy"}), SCHEMA).data is not None
    owned = next(i for i in suite.world.inventory if i.media_type == "movie" and i.tmdb_id)
    return client.media_status(owned.tmdb_id, "movie").status


def _secret(name, env):
    return {"tautulli": env["TAUTULLI_API_KEY"], "plex": env["PLEX_TOKEN"], "tmdb": env["TMDB_API_KEY"],
            "llm": env["LLM_API_KEY"], "overseerr": env["OVERSEERR_API_KEY"]}[name]


@pytest.mark.parametrize("name", SERVICES)
def test_partial_faults_are_retried_until_success(name, suite, env):
    client = _client(name, env, RetryPolicy(attempts=12, backoff_s=0.01, max_wait_s=0.05))
    healthy = _one_call(name, client, suite)
    server = suite.servers[name]
    server.clear_requests()
    # a fixed seed restarts the emulator's fault stream, so the run is the same every time
    server.set_faults(rate_429=0.3, retry_after_s=0.01, rate_500=0.3, malformed_rate=0.2, seed=11)
    calls = 10
    results = [_one_call(name, client, suite) for _ in range(calls)]
    assert results == [healthy] * calls
    statuses = [r["status"] for r in server.requests()]
    assert 429 in statuses and 500 in statuses and len(statuses) > calls


@pytest.mark.parametrize("name", SERVICES)
@pytest.mark.parametrize("fault, kind, status", [
    ({"rate_500": 1.0}, "server", 500),
    ({"rate_429": 1.0, "retry_after_s": 0.01}, "rate_limited", 429),
    ({"malformed_rate": 1.0}, "bad_response", None),
])
def test_persistent_faults_end_in_a_typed_error_without_the_secret(name, fault, kind, status, suite, env):
    client = _client(name, env, RetryPolicy(attempts=3, backoff_s=0.01, max_wait_s=0.05))
    server = suite.servers[name]
    server.set_faults(**fault)
    with pytest.raises(ServiceError) as info:
        _one_call(name, client, suite)
    error = info.value
    assert error.service == name and error.kind == kind
    if status is not None:
        assert error.status == status
    message = str(error)
    assert message.startswith(f"{name}:") and server.root_url in message
    assert _secret(name, env) not in message
    assert len(server.requests()) == 3  # the whole attempt budget, no more


@pytest.mark.parametrize("name", SERVICES)
def test_timeouts_are_retried_then_reported_as_unreachable(name, suite, env):
    client = _client(name, env, RetryPolicy(attempts=2, backoff_s=0.01), timeout_s=0.1)
    suite.servers[name].set_faults(latency_s=0.5)
    with pytest.raises(ServiceError) as info:
        _one_call(name, client, suite)
    assert info.value.kind == "unreachable" and "Timeout" in info.value.detail
    assert _secret(name, env) not in str(info.value)
