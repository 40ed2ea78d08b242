"""The IO manager of the per-category assets: each category's typed document (documents)
is the asset partition's value, so resolved_recs and pmm_collections receive their inputs from
Dagster instead of looking up file paths in the store.

A step covers many ``category × user`` pairs (single-run backfill policy), so a value is a dict
of partition key (``<category id>|<user key>``) -> ``CategoryDraft`` | ``CategoryResult`` |
``CategoryFailure``; each is stored atomically as
``$DAGSTER_HOME/storage/plexrecs-documents/<asset>/<user key>/<category id>.json`` (beside the values of
Dagster's own IO manager: they belong to the Dagster instance, not to the data folder's
documented outputs) and loaded back per partition. A partition that was never materialized
loads as missing (absent from the dict).
"""
from __future__ import annotations

import json
from pathlib import Path

from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import BaseModel

from plexrecs_assets import outputs
from plexrecs_assets.defs.video_recs.partitions import pair_of
from plexrecs_assets.documents import CategoryDraft, CategoryFailure, CategoryResult, DocumentError, read_document

MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (CategoryDraft, CategoryResult, CategoryFailure)}


class _Stored(BaseModel):
    model: str
    doc: dict


def _path(folder: Path, partition_key: str) -> Path:
    category_id, user_key = pair_of(partition_key)
    return outputs.inside(folder, folder / outputs.file_key(user_key) / f"{outputs.file_key(category_id)}.json")


class CategoryDocumentIOManager(ConfigurableIOManager):
    def _dir(self, context: InputContext | OutputContext) -> Path:
        base = Path(context.step_context.instance.storage_directory()) / "plexrecs-documents"
        asset_name = context.asset_key.path[-1]
        return outputs.inside(base, base / outputs.file_key(asset_name.replace("_", "-")))

    def handle_output(self, context: OutputContext, obj: dict[str, BaseModel] | None) -> None:
        if not obj:
            return
        folder = self._dir(context)
        for partition_key, doc in obj.items():
            path = _path(folder, partition_key)
            outputs.atomic_write_json(path, {"model": type(doc).__name__, "doc": json.loads(doc.model_dump_json())})

    def load_input(self, context: InputContext) -> dict[str, BaseModel]:
        folder = self._dir(context)
        loaded: dict[str, BaseModel] = {}
        for partition_key in context.asset_partition_keys:
            path = _path(folder, partition_key)
            if not path.exists():
                continue
            stored = read_document(path, _Stored)
            model = MODELS.get(stored.model)
            if model is None:
                raise DocumentError(f"{path}: model: unknown document model {stored.model!r}")
            loaded[partition_key] = model.model_validate(stored.doc)
        return loaded
