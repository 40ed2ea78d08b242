from __future__ import annotations

import httpx
import pytest

from plexrecs_emulators.faults import Faults
from plexrecs_emulators.llm import LlmOptions
from plexrecs_emulators.suite import EmulatorSuite
from .tiny_world import write_tiny_world


@pytest.fixture(scope="session")
def tiny_world_dir(tmp_path_factory):
    return write_tiny_world(tmp_path_factory.mktemp("tiny-world"))


@pytest.fixture(scope="session")
def _tiny_suite(tiny_world_dir):
    with EmulatorSuite(tiny_world_dir) as suite:
        yield suite


@pytest.fixture
def suite(_tiny_suite):
    """The tiny-world suite, with faults, LLM options and request logs reset after each test."""
    yield _tiny_suite
    defaults = Faults().to_dict()
    for server in _tiny_suite.servers.values():
        server.set_faults(**defaults)
        server.clear_requests()
    _tiny_suite.llm.set_options(**LlmOptions().__dict__)


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client
