"""Fixtures for the client tests: a private emulator suite (faults and Overseerr requests
change its state, so it is not the session-wide one), fault resets, and client factories."""
from __future__ import annotations

import socket

import pytest

from plexrecs_assets.clients.base import RetryPolicy
from plexrecs_assets.clients.llm import LlmClient
from plexrecs_assets.clients.overseerr import OverseerrClient
from plexrecs_assets.clients.plex import PlexClient
from plexrecs_assets.clients.tautulli import TautulliClient
from plexrecs_assets.clients.tmdb import TmdbClient
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.suite import EmulatorSuite

# JWT-shaped, so TmdbClient must send it as a Bearer token rather than ?api_key=
JWT_LIKE_BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJwbGV4cmVjcy10ZXN0In0.c2lnbmF0dXJlLWZvci10ZXN0cw"
FAST = RetryPolicy(attempts=4, backoff_s=0.01, max_wait_s=0.5)
LLM_MODEL = "gpt-4o-mini"


@pytest.fixture(scope="package")
def suite():
    with EmulatorSuite(keys={"tmdb_bearer": JWT_LIKE_BEARER}) as emulators:
        yield emulators


@pytest.fixture(autouse=True)
def _reset_emulators(request):
    yield
    if "suite" not in request.fixturenames:
        return
    emulators = request.getfixturevalue("suite")
    defaults = Faults().to_dict()
    for server in emulators.servers.values():
        server.set_faults(**defaults)
        server.clear_requests()
    emulators.llm.set_options(structured_output="json_schema", invalid_json_rate=0.0, mistake_rate=0.0,
                              fail_labels=[])


@pytest.fixture
def jwt_bearer():
    return JWT_LIKE_BEARER


@pytest.fixture
def fast():
    return FAST


@pytest.fixture
def env(suite):
    return suite.env()


@pytest.fixture
def closed_port_url():
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def tautulli(env):
    with TautulliClient(env["TAUTULLI_URL"], env["TAUTULLI_API_KEY"], retry=FAST) as client:
        yield client


@pytest.fixture
def plex(env):
    with PlexClient(env["PLEX_URL"], env["PLEX_TOKEN"], retry=FAST) as client:
        yield client


@pytest.fixture
def tmdb(env):
    with TmdbClient(env["TMDB_API_BASE"], api_key=env["TMDB_API_KEY"], retry=FAST) as client:
        yield client


@pytest.fixture
def llm(env):
    with LlmClient(env["LLM_API_BASE"], env["LLM_API_KEY"], LLM_MODEL, timeout_s=10, retry=FAST) as client:
        yield client


@pytest.fixture
def overseerr(env):
    with OverseerrClient(env["OVERSEERR_URL"], env["OVERSEERR_API_KEY"], retry=FAST) as client:
        yield client
