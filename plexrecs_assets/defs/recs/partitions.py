"""One partition per category label, read from categories.yml when the code location loads.

After editing categories.yml, reload the code location (the UI's reload button) to see new
categories.
"""
from dagster import StaticPartitionsDefinition

from plexrecs_assets.core.config import config_dir_from_env, load_categories


def category_labels() -> list[str]:
    return [c.label for c in load_categories(config_dir_from_env())]


category_partitions = StaticPartitionsDefinition(category_labels())
