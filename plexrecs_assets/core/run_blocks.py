"""How a set of categories becomes Dagster runs (no Dagster imports: the API uses it too).

A partition range cannot skip keys, so a subset is split into blocks of neighbours in
categories.yml order; each block is one run, tagged as a single key or a key range.
"""
from __future__ import annotations


def contiguous_blocks(selected: list[str], yaml_order: list[str]) -> list[list[str]]:
    """``selected`` split into runs of neighbours in ``yaml_order`` (each block keeps that order)."""
    position = {label: i for i, label in enumerate(yaml_order)}
    blocks: list[list[str]] = []
    for label in sorted(set(selected), key=position.__getitem__):
        if blocks and position[blocks[-1][-1]] == position[label] - 1:
            blocks[-1].append(label)
        else:
            blocks.append([label])
    return blocks


def partition_tags(block: list[str]) -> dict[str, str]:
    """Run tags for one block: ``dagster/partition`` for one key, the range tags for several."""
    if len(block) == 1:
        return {"dagster/partition": block[0]}
    return {"dagster/asset_partition_range_start": block[0], "dagster/asset_partition_range_end": block[-1]}
