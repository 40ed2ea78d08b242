"""The PlexRecs configuration as a Dagster resource: app.yml, categories.yml and the store."""
from __future__ import annotations

from dagster import ConfigurableResource

from plexrecs_assets.core.config import AppConfig, category_to_dict, load_app_config, load_categories
from plexrecs_assets.store.db import Engine, init_db


class PlexRecsSettings(ConfigurableResource):
    config_dir: str

    def app(self) -> AppConfig:
        return load_app_config(self.config_dir)

    def categories(self) -> dict[str, dict]:
        """Categories by label, in YAML order."""
        return {c.label: category_to_dict(c) for c in load_categories(self.config_dir)}

    def engine(self) -> Engine:
        return init_db(self.app().paths.db_path)
