"""Shared fixtures of the reliability suite: emulators, a per-test workspace with its own data
dir, config and Dagster home, and a warm TMDb cache so each run costs seconds, not the ~15 s
a cold cache needs under the client's TMDb rate limit."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from plexrecs_assets.demo import secrets_env, write_demo_config
from plexrecs_emulators.suite import EmulatorSuite
from reliability_helpers import CACHE_TABLES, CATEGORIES_YML, Workspace, reset_emulators


def _setup_workspace(root: Path, suite: EmulatorSuite, mp: pytest.MonkeyPatch, *, categories_yml: str,
                     recs: int, warm_db: Path | None, overseerr: bool) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    categories_file = root / "categories.source.yml"
    categories_file.write_text(categories_yml, encoding="utf-8")
    config_dir, data_dir, home = root / "config", root / "data", root / "dagster_home"
    home.mkdir(exist_ok=True)
    write_demo_config(config_dir, data_dir, suite.env(), categories_file=categories_file,
                      recs_per_category=recs, overseerr=overseerr)
    if warm_db is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(warm_db, data_dir / "plexrecs.sqlite")
    secrets = secrets_env(suite.env())
    for name, value in secrets.items():
        mp.setenv(name, value)
    # URL overrides from the developer's shell would point the run elsewhere.
    for name in ("TAUTULLI_URL", "PLEX_URL", "TMDB_API_BASE", "OVERSEERR_URL", "LLM_API_BASE"):
        mp.delenv(name, raising=False)
    mp.setenv("DAGSTER_HOME", str(home))
    mp.setenv("PLEXRECS_CONFIG_DIR", str(config_dir))
    return Workspace(root, config_dir, data_dir, home, {**secrets, "DAGSTER_HOME": str(home)})


@pytest.fixture(scope="session")
def warm_db(tmp_path_factory) -> Path:
    """A store holding only the TMDb caches of one run on the demo world (no runs, no history)."""
    root = tmp_path_factory.mktemp("warm-cache")
    mp = pytest.MonkeyPatch()
    try:
        with EmulatorSuite() as suite:
            ws = _setup_workspace(root, suite, mp, categories_yml=CATEGORIES_YML, recs=5, warm_db=None,
                                  overseerr=False)
            summary = ws.run()
            assert summary.status == "success", summary.error
    finally:
        mp.undo()
    template = root / "warm.sqlite"
    src = sqlite3.connect(ws.db_path)
    dst = sqlite3.connect(template)
    src.backup(dst)
    src.close()
    tables = [r[0] for r in dst.execute("select name from sqlite_master where type='table' and name not like 'sqlite_%'")]
    for table in tables:
        if table not in CACHE_TABLES and table not in ("alembic_version", "schema_version"):
            dst.execute(f'delete from "{table}"')
    dst.commit()
    dst.execute("vacuum")
    dst.close()
    from plexrecs_assets.store.db import dispose_all

    dispose_all()
    return template


@pytest.fixture(scope="module")
def suite():
    """This module's own emulators (tests flip faults; an autouse fixture resets them)."""
    with EmulatorSuite() as emulators:
        yield emulators


@pytest.fixture(autouse=True)
def _reset_suite(request):
    if "suite" in request.fixturenames:
        reset_emulators(request.getfixturevalue("suite"))
    yield
    if "suite" in request.fixturenames:
        reset_emulators(request.getfixturevalue("suite"))


@pytest.fixture
def make_workspace(tmp_path, monkeypatch, warm_db):
    """``make_workspace(suite, categories_yml=..., recs=5, overseerr=True)`` → a fresh Workspace."""
    count = 0

    def make(suite: EmulatorSuite, *, categories_yml: str = CATEGORIES_YML, recs: int = 5, warm: bool = True,
             overseerr: bool = True) -> Workspace:
        nonlocal count
        count += 1
        return _setup_workspace(tmp_path / f"ws{count}", suite, monkeypatch, categories_yml=categories_yml,
                                recs=recs, warm_db=warm_db if warm else None, overseerr=overseerr)

    yield make
    from plexrecs_assets.store.db import dispose_all

    dispose_all()


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory, warm_db):
    """Like ``make_workspace`` but for the whole module (for a published baseline shared by tests)."""
    mp = pytest.MonkeyPatch()

    def make(suite: EmulatorSuite, **options) -> Workspace:
        options = {"categories_yml": CATEGORIES_YML, "recs": 5, "overseerr": True, **options}
        return _setup_workspace(tmp_path_factory.mktemp("module-ws"), suite, mp, warm_db=warm_db, **options)

    yield make
    mp.undo()


