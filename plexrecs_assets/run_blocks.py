"""How a set of categories and people becomes Dagster runs (no Dagster imports: the API uses it too).

The partition keys are ``<category id>|<user key>`` (defs/video_recs/partitions.py), never
labels: Dagster forbids ``...``, ``|``, ``,``, ``[`` and ``]`` inside a dimension's key, and
a label may hold any of them. A partition range cannot skip keys, so a subset is split into
blocks of neighbours (categories in partition order × users in the dynamic dimension's
order); each block is one run, tagged as a single key or a key range.
"""
from __future__ import annotations

from dataclasses import dataclass


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


# The order of the category partition keys: audiences kept together so the pairs of each are
# a rectangle of the ``category × user`` partitions (defs/video_recs/partitions.py).
AUDIENCE_ORDER = {"household": 0, "both": 1, "each_user": 2}
HOUSEHOLD = "household"


@dataclass(frozen=True)
class PairBlock:
    """One run's partitions: neighbouring categories × neighbouring users."""

    category_ids: tuple[str, ...]
    user_keys: tuple[str, ...]

    def tags(self) -> dict[str, str]:
        first = f"{self.category_ids[0]}|{self.user_keys[0]}"
        last = f"{self.category_ids[-1]}|{self.user_keys[-1]}"
        if first == last:
            return {"dagster/partition": first}
        return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(c, u) for c in self.category_ids for u in self.user_keys]


def pair_blocks(selected: list[str], audiences: dict[str, str], category_order: list[str], user_order: list[str],
                users: list[str] | None = None) -> list[PairBlock]:
    """The runs that produce every pair of the ``selected`` category ids: household categories
    (and ``both``) for ``household``, per-person categories (and ``both``) for each of ``users``
    (every person in ``user_order`` by default; ``household`` may be named to include it).

    ``category_order`` is the partition order of the category ids, ``user_order`` the dynamic
    dimension's order (``household`` first)."""
    persons = [u for u in user_order if u != HOUSEHOLD]
    wanted_users = list(user_order) if users is None else [u for u in user_order if u in set(users)]
    blocks: list[PairBlock] = []
    if HOUSEHOLD in wanted_users:
        household_cats = [c for c in selected if audiences[c] in ("household", "both")]
        blocks += [PairBlock(tuple(b), (HOUSEHOLD,)) for b in contiguous_blocks(household_cats, category_order)]
    person_cats = [c for c in selected if audiences[c] in ("each_user", "both")]
    chosen = [u for u in wanted_users if u != HOUSEHOLD]
    for cat_block in contiguous_blocks(person_cats, category_order):
        for user_block in contiguous_blocks(chosen, persons):
            blocks.append(PairBlock(tuple(cat_block), tuple(user_block)))
    return blocks


def range_pairs(tags, category_order: list[str], user_order: list[str]) -> list[tuple[str, str]] | None:
    """The (category id, user key) pairs a run's partition tags cover; None when unpartitioned
    or not understood."""
    def split(key: str) -> tuple[str, str]:
        cat, sep, user = key.partition("|")
        return (cat, user) if sep else (cat, HOUSEHOLD)

    if "dagster/partition" in tags:
        return [split(tags["dagster/partition"])]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if not start or not end:
        return None
    (c0, u0), (c1, u1) = split(start), split(end)
    if c0 not in category_order or c1 not in category_order:
        return None
    cats = category_order[category_order.index(c0): category_order.index(c1) + 1]
    if u0 in user_order and u1 in user_order:
        users = user_order[user_order.index(u0): user_order.index(u1) + 1]
    else:
        users = [u0] if u0 == u1 else []
    return [(c, u) for c in cats for u in users]
