"""One partition per category, keyed by the category id (``[a-z0-9-]+``, never the label:
Dagster forbids ``...``, ``|``, ``,``, ``[`` and ``]`` in partition keys), read from
categories.yml when the definitions load.

After editing categories.yml, reload the code location (the UI's reload button) to see new
categories.
"""
from pathlib import Path

from dagster import StaticPartitionsDefinition

from plexrecs_assets.config import config_dir_from_env, load_categories


def category_ids(config_dir: str | Path | None = None) -> list[str]:
    return [c.id for c in load_categories(config_dir or config_dir_from_env())]


def category_partitions(config_dir: str | Path | None = None) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition(category_ids(config_dir))
