"""Project-wide fixtures. Keep this file small: area-specific fixtures live next to their tests."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def emulators():
    """All five service emulators on the bundled demo world, default faults.

    Shared by the whole session: a test that changes faults or LLM options must restore them
    (or start its own ``EmulatorSuite``)."""
    from plexrecs_emulators.suite import EmulatorSuite

    with EmulatorSuite() as suite:
        yield suite
