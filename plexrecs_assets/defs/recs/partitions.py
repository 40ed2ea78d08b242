"""One partition per category label, read from categories.yml when the code location loads.

After editing categories.yml, reload the code location (the UI's reload button) to see new
categories.
"""
from dagster import StaticPartitionsDefinition

from plexrecs_assets.core.config import config_dir_from_env, load_categories


def category_labels() -> list[str]:
    return [c.label for c in load_categories(config_dir_from_env())]


category_partitions = StaticPartitionsDefinition(category_labels())


def range_tags(labels: list[str]) -> dict[str, str]:
    """Run tags that make one run cover a contiguous block of categories (YAML order)."""
    if len(labels) == 1:
        return {"dagster/partition": labels[0]}
    return {"dagster/asset_partition_range_start": labels[0], "dagster/asset_partition_range_end": labels[-1]}


def contiguous_blocks(selected: list[str], all_labels: list[str]) -> list[list[str]]:
    """Split a subset into runs of neighbours in YAML order (a partition range cannot skip keys)."""
    order = {label: i for i, label in enumerate(all_labels)}
    blocks: list[list[str]] = []
    for label in sorted(set(selected), key=order.__getitem__):
        if blocks and order[blocks[-1][-1]] == order[label] - 1:
            blocks[-1].append(label)
        else:
            blocks.append([label])
    return blocks
