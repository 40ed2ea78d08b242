from __future__ import annotations

import pytest
from dagster import EnvVar, asset, materialize_to_memory

from plexrecs_assets.clients.llm import LlmClient
from plexrecs_assets.clients.overseerr import OverseerrClient
from plexrecs_assets.clients.plex import PlexClient
from plexrecs_assets.clients.tautulli import TautulliClient
from plexrecs_assets.clients.tmdb import TmdbClient
from plexrecs_assets.engines.prompt import OUTPUT_SCHEMA
from plexrecs_assets.defs.shared.resources import (
    LlmResource,
    OverseerrResource,
    PlexResource,
    TautulliResource,
    TmdbResource,
)


def test_resources_build_configured_clients(env):
    resources = {
        TautulliClient: TautulliResource(base_url=env["TAUTULLI_URL"], api_key=env["TAUTULLI_API_KEY"],
                                         retries=2, retry_backoff_s=0.01),
        PlexClient: PlexResource(base_url=env["PLEX_URL"], token=env["PLEX_TOKEN"], retries=2, retry_backoff_s=0.01),
        TmdbClient: TmdbResource(base_url=env["TMDB_API_BASE"], api_key=env["TMDB_API_KEY"], retries=2,
                                 retry_backoff_s=0.01),
        LlmClient: LlmResource(base_url=env["LLM_API_BASE"], api_key=env["LLM_API_KEY"], model="gpt-4o-mini",
                               retries=2, retry_backoff_s=0.01),
        OverseerrClient: OverseerrResource(base_url=env["OVERSEERR_URL"], api_key=env["OVERSEERR_API_KEY"],
                                           retries=2, retry_backoff_s=0.01),
    }
    for cls, resource in resources.items():
        client = resource.client()
        assert isinstance(client, cls)
        assert (client.retry.attempts, client.retry.backoff_s) == (2, 0.01)
        assert client.check().ok, client.service
    assert TmdbResource(api_key="k").client().base_url == "https://api.themoviedb.org/3"
    assert LlmResource(base_url="http://x/v1", api_key="k", model="m").timeout_s == 120


def test_an_asset_reads_tautulli_through_the_resource_with_env_secrets(env, monkeypatch):
    monkeypatch.setenv("TAUTULLI_API_KEY", env["TAUTULLI_API_KEY"])

    @asset
    def users(tautulli: TautulliResource) -> int:
        return len(tautulli.client().get_users())

    result = materialize_to_memory(
        [users], resources={"tautulli": TautulliResource(base_url=env["TAUTULLI_URL"],
                                                         api_key=EnvVar("TAUTULLI_API_KEY"))})
    assert result.success and result.output_for_node("users") > 0


def test_a_missing_secret_fails_the_run(env, monkeypatch):
    monkeypatch.delenv("PLEXRECS_TEST_UNSET_KEY", raising=False)

    @asset
    def users(tautulli: TautulliResource) -> int:
        return len(tautulli.client().get_users())

    with pytest.raises(Exception, match="PLEXRECS_TEST_UNSET_KEY"):
        materialize_to_memory([users], resources={"tautulli": TautulliResource(
            base_url=env["TAUTULLI_URL"], api_key=EnvVar("PLEXRECS_TEST_UNSET_KEY"))})


def test_the_llm_resource_passes_temperature_and_cap_to_the_client(env, suite):
    resource = LlmResource(base_url=env["LLM_API_BASE"], api_key=env["LLM_API_KEY"], model="gpt-4o-mini",
                           temperature=0.9, max_output_tokens=5000, retries=2, retry_backoff_s=0.01)
    with resource.client() as client:
        assert client.request_params == {"temperature": 0.9, "max_tokens": 5000}
        client.complete_json("s", '{"category": {"label": "Cozy"}}', OUTPUT_SCHEMA)
    last = suite.llm.answers()[-1]
    assert (last["temperature"], last["max_tokens"]) == (0.9, 5000)


def test_the_tmdb_resource_sends_the_configured_language(env, suite):
    resource = TmdbResource(base_url=env["TMDB_API_BASE"], api_key=env["TMDB_API_KEY"], language="de-DE",
                            retries=2, retry_backoff_s=0.01)
    with resource.client() as client:
        client.details(268, "movie")
        client.search_titles("Heat", 1995, "movie")
    queries = [r["query"] for r in suite.tmdb.requests()]
    assert len(queries) == 2 and all(q.get("language") == "de-DE" for q in queries)
