"""A real pipeline: emulators over loopback, a real SQLite file, a real Dagster instance."""
from __future__ import annotations

from pathlib import Path

import pytest

from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.suite import EmulatorSuite


@pytest.fixture(scope="module")
def demo_suite():
    """Emulators with realistic LLM mistakes (15% of items) on the bundled demo world."""
    with EmulatorSuite(llm_options={"mistake_rate": 0.15}) as suite:
        yield suite


@pytest.fixture()
def demo_env(demo_suite, tmp_path, monkeypatch) -> Path:
    """A demo config in tmp_path; secrets and DAGSTER_HOME set in the environment."""
    env = demo_suite.env()
    for key, value in secrets_env(env).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("PLEXRECS_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "dagster_home").mkdir()
    write_demo_config(tmp_path / "config", tmp_path / "data", env)
    return tmp_path
