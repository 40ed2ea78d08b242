"""The video recommendation partitions: ``category × user`` (product.md §4).

- ``category`` is static: the category ids of categories.yml (``[a-z0-9-]+``, never the
  label: Dagster forbids ``...``, ``|``, ``,``, ``[`` and ``]`` in partition keys), read when the
  definitions load. After editing categories.yml, reload the code location.
- ``user`` is dynamic (``users``): ``household`` first, then every person's ``user_key``. The
  ``user_partitions_sensor`` (and ``plexrecs run``) keep it in step with Tautulli's users.

A partition key reads ``<category id>|<user key>`` (Dagster orders the dimensions by name).
Not every pair is produced: a household category serves only ``household``, an ``each_user``
one every person, ``both`` both (``Category.serves``). The category keys are ordered household
categories, then ``both``, then ``each_user`` (YAML order within each), so that the pairs of
one audience are a rectangle: one run covers household categories × ``household``, another
per-person categories × every person (``run_blocks.pair_blocks``).
"""
from pathlib import Path

from dagster import DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition, StaticPartitionsDefinition

from plexrecs_assets.config import config_dir_from_env, load_categories
from plexrecs_assets.keys import HOUSEHOLD
from plexrecs_assets.run_blocks import AUDIENCE_ORDER

USERS_PARTITION_NAME = "users"
CATEGORY_DIM = "category"
USER_DIM = "user"
user_partitions = DynamicPartitionsDefinition(name=USERS_PARTITION_NAME)


def category_ids(config_dir: str | Path | None = None) -> list[str]:
    """Category ids in partition order (by audience, then categories.yml order)."""
    categories = load_categories(config_dir or config_dir_from_env())
    ordered = sorted(enumerate(categories), key=lambda ic: (AUDIENCE_ORDER[ic[1].audience], ic[0]))
    return [c.id for _, c in ordered]


def category_partitions(config_dir: str | Path | None = None) -> MultiPartitionsDefinition:
    return MultiPartitionsDefinition({
        CATEGORY_DIM: StaticPartitionsDefinition(category_ids(config_dir)),
        USER_DIM: user_partitions,
    })


def pair_of(partition_key: str) -> tuple[str, str]:
    """(category id, user key) of a partition key; a bare category id means the household."""
    if isinstance(partition_key, MultiPartitionKey):
        dims = partition_key.keys_by_dimension
        return dims[CATEGORY_DIM], dims[USER_DIM]
    category_id, sep, user_key = partition_key.partition("|")
    return (category_id, user_key) if sep else (category_id, HOUSEHOLD)


def pair_key(category_id: str, user_key: str) -> str:
    return f"{category_id}|{user_key}"


def ensure_user_partitions(instance, user_keys: list[str]) -> list[str]:
    """Add ``household`` (first) and any new ``user_keys`` to the dynamic dimension; returns
    those added. Keys of people no longer listed stay: their history stays browsable."""
    have = set(instance.get_dynamic_partitions(USERS_PARTITION_NAME))
    wanted = [HOUSEHOLD] + [k for k in user_keys if k != HOUSEHOLD]
    new = [k for k in dict.fromkeys(wanted) if k not in have]
    if new:
        instance.add_dynamic_partitions(USERS_PARTITION_NAME, new)
    return new
