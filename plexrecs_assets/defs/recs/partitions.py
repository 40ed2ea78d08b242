"""One partition per category label, read from categories.yml when the definitions load.

After editing categories.yml, reload the code location (the UI's reload button) to see new
categories.
"""
from pathlib import Path

from dagster import StaticPartitionsDefinition

from plexrecs_assets.core.config import config_dir_from_env, load_categories


def category_labels(config_dir: str | Path | None = None) -> list[str]:
    return [c.label for c in load_categories(config_dir or config_dir_from_env())]


def category_partitions(config_dir: str | Path | None = None) -> StaticPartitionsDefinition:
    return StaticPartitionsDefinition(category_labels(config_dir))
