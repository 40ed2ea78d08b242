"""The PlexRecs configuration as a Dagster resource: app.yml, categories.yml and the store.

The files are read once per run: a resource is set up once when the run's process starts
executing (the in-process executor), so every step and check of a run sees the same
configuration even if someone edits the files meanwhile, and a step does not parse them again.
Outside a run (a test calling the methods directly) they are read on first use.
"""
from __future__ import annotations

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from plexrecs_assets.config import AppConfig, Category, load_app_config, load_categories
from plexrecs_assets.store.db import Engine, init_db


class PlexRecsSettings(ConfigurableResource):
    config_dir: str
    _app: AppConfig | None = PrivateAttr(default=None)
    _categories: dict[str, Category] | None = PrivateAttr(default=None)
    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._app = load_app_config(self.config_dir)
        self._categories = {c.label: c for c in load_categories(self.config_dir)}

    def app(self) -> AppConfig:
        if self._app is None:
            self._app = load_app_config(self.config_dir)
        return self._app

    def categories(self) -> dict[str, Category]:
        """Typed categories by label, in YAML order."""
        if self._categories is None:
            self._categories = {c.label: c for c in load_categories(self.config_dir)}
        return dict(self._categories)

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = init_db(self.app().paths.db_path)
        return self._engine
