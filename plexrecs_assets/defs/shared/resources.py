"""Dagster resources: configuration holders that build the plain service clients.

Secrets arrive through ``EnvVar`` in the definitions; here they are plain str fields.
Assets call e.g. ``tautulli.client().get_history(...)``.
"""
from __future__ import annotations

from dagster import ConfigurableResource

from plexrecs_assets.clients.base import RetryPolicy
from plexrecs_assets.clients.llm import LlmClient
from plexrecs_assets.clients.overseerr import OverseerrClient
from plexrecs_assets.clients.plex import PlexClient
from plexrecs_assets.clients.tautulli import TautulliClient
from plexrecs_assets.clients.tmdb import DEFAULT_BASE as TMDB_DEFAULT_BASE
from plexrecs_assets.clients.tmdb import TmdbClient


class _ServiceResource(ConfigurableResource):
    timeout_s: float = 30.0
    retries: int = 4  # total attempts per call
    retry_backoff_s: float = 0.5  # first wait; doubles per attempt unless Retry-After says otherwise
    retry_max_wait_s: float = 30.0

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=max(1, self.retries), backoff_s=self.retry_backoff_s,
                           max_wait_s=self.retry_max_wait_s)


class TautulliResource(_ServiceResource):
    base_url: str
    api_key: str

    def client(self) -> TautulliClient:
        return TautulliClient(self.base_url, self.api_key, timeout_s=self.timeout_s, retry=self.retry_policy())


class PlexResource(_ServiceResource):
    base_url: str
    token: str

    def client(self) -> PlexClient:
        return PlexClient(self.base_url, self.token, timeout_s=self.timeout_s, retry=self.retry_policy())


class TmdbResource(_ServiceResource):
    base_url: str = TMDB_DEFAULT_BASE
    api_key: str  # a v3 key or a v4 read access token (detected by shape)
    language: str | None = None  # tmdb.language, sent as language= on every request

    def client(self) -> TmdbClient:
        return TmdbClient(self.base_url, api_key=self.api_key, timeout_s=self.timeout_s, retry=self.retry_policy(),
                          language=self.language)


class LlmResource(_ServiceResource):
    base_url: str
    api_key: str
    model: str
    timeout_s: float = 120.0
    temperature: float | None = None  # None: the server's default; never sent to reasoning models
    max_output_tokens: int | None = None

    def client(self) -> LlmClient:
        return LlmClient(self.base_url, self.api_key, self.model, self.timeout_s, retry=self.retry_policy(),
                         temperature=self.temperature, max_output_tokens=self.max_output_tokens)


class OverseerrResource(_ServiceResource):
    base_url: str
    api_key: str = ""

    def client(self) -> OverseerrClient:
        return OverseerrClient(self.base_url, self.api_key, timeout_s=self.timeout_s, retry=self.retry_policy())
