"""How a set of categories becomes Dagster runs (no Dagster imports: the API uses it too).

The partition keys are category ids (``keys``), never labels: Dagster forbids ``...``,
``|``, ``,``, ``[`` and ``]`` in keys, and a label may hold any of them. A partition range
cannot skip keys, so a subset is split into blocks of neighbours in categories.yml order;
each block is one run, tagged as a single key or a key range.
"""
from __future__ import annotations


def contiguous_blocks(selected: list[str], yaml_order: list[str]) -> list[list[str]]:
    """``selected`` ids split into runs of neighbours in ``yaml_order`` (each block keeps that order)."""
    position = {category_id: i for i, category_id in enumerate(yaml_order)}
    blocks: list[list[str]] = []
    for category_id in sorted(set(selected), key=position.__getitem__):
        if blocks and position[blocks[-1][-1]] == position[category_id] - 1:
            blocks[-1].append(category_id)
        else:
            blocks.append([category_id])
    return blocks


def partition_tags(block: list[str]) -> dict[str, str]:
    """Run tags for one block: ``dagster/partition`` for one key, the range tags for several."""
    if len(block) == 1:
        return {"dagster/partition": block[0]}
    return {"dagster/asset_partition_range_start": block[0], "dagster/asset_partition_range_end": block[-1]}
