from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_assets.config import load_app_config, load_categories
from plexrecs_assets.store.db import dispose_all

import api_storefill as storefill

import os

# PLEXRECS_API_TEST_STORE=synthetic forces the hand-made store (to work on the API while the pipeline is broken).
PIPELINE_READY = os.environ.get("PLEXRECS_API_TEST_STORE") != "synthetic" and all(
    importlib.util.find_spec(m) for m in ("plexrecs_assets.runner", "plexrecs_assets.demo"))


@dataclass
class Filled:
    """A configuration whose store was filled by a run."""

    config_dir: Path
    db_path: Path
    json_out_dir: Path
    pmm_out_dir: Path
    labels: list[str]
    real: bool


def _describe(config_dir: Path, real: bool) -> Filled:
    app = load_app_config(config_dir, env={})
    return Filled(config_dir, Path(app.paths.db_path), Path(app.paths.json_out_dir), Path(app.paths.pmm_out_dir),
                  [c.label for c in load_categories(config_dir)], real)


@pytest.fixture(scope="session")
def filled(request, tmp_path_factory) -> Filled:
    """The store after a real pipeline run on the emulators (run_once on a demo config). A hand-made
    store stands in only when PLEXRECS_API_TEST_STORE=synthetic or the runner is missing."""
    root = tmp_path_factory.mktemp("api-store")
    if not PIPELINE_READY:
        layout = storefill.Layout.under(root)
        storefill.write_config(layout)
        storefill.fill(layout)
        return _describe(layout.config_dir, real=False)
    from plexrecs_assets.demo import write_demo_config
    from plexrecs_assets.runner import run_once

    emulators = request.getfixturevalue("emulators")
    config_dir, data_dir = root / "config", root / "data"
    write_demo_config(config_dir, data_dir, emulators.env())
    mp = pytest.MonkeyPatch()
    try:  # run_once sets these two; the monkeypatch puts them back afterwards
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("PLEXRECS_CONFIG_DIR", str(config_dir))
        for name, value in emulators.env().items():
            mp.setenv(name, value)
        summary = run_once(config_dir)
    finally:
        mp.undo()
    assert summary.status in ("success", "partial"), f"the pipeline run failed: {summary.error}"
    return _describe(config_dir, real=True)


@pytest.fixture
def client(filled: Filled):
    with TestClient(create_app(filled.config_dir, env={}), raise_server_exceptions=False,
                    base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def synthetic(tmp_path) -> storefill.Layout:
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    storefill.fill(layout)
    yield layout
    dispose_all()
