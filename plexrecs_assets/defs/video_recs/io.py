"""The IO manager of the per-category assets: each category's typed document (documents)
is the asset partition's value, so resolved_recs and pmm_collections receive their inputs from
Dagster instead of looking up file paths in the store.

A step covers many categories (single-run backfill policy), so a value is a dict of category
id -> ``CategoryDraft`` | ``CategoryResult`` | ``CategoryFailure``; each is stored atomically as
``$DAGSTER_HOME/storage/plexrecs-documents/<asset>/<category id>.json`` (beside the values of
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
from plexrecs_assets.documents import CategoryDraft, CategoryFailure, CategoryResult, DocumentError, read_document

MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (CategoryDraft, CategoryResult, CategoryFailure)}


class _Stored(BaseModel):
    model: str
    doc: dict


class CategoryDocumentIOManager(ConfigurableIOManager):
    def _dir(self, context: InputContext | OutputContext) -> Path:
        base = Path(context.step_context.instance.storage_directory()) / "plexrecs-documents"
        asset_name = context.asset_key.path[-1]
        return outputs.inside(base, base / outputs.file_key(asset_name.replace("_", "-")))

    def handle_output(self, context: OutputContext, obj: dict[str, BaseModel] | None) -> None:
        if not obj:
            return
        folder = self._dir(context)
        for category_id, doc in obj.items():
            path = outputs.inside(folder, folder / f"{outputs.file_key(category_id)}.json")
            outputs.atomic_write_json(path, {"model": type(doc).__name__, "doc": json.loads(doc.model_dump_json())})

    def load_input(self, context: InputContext) -> dict[str, BaseModel]:
        folder = self._dir(context)
        loaded: dict[str, BaseModel] = {}
        for category_id in context.asset_partition_keys:
            path = folder / f"{outputs.file_key(category_id)}.json"
            if not path.exists():
                continue
            stored = read_document(path, _Stored)
            model = MODELS.get(stored.model)
            if model is None:
                raise DocumentError(f"{path}: model: unknown document model {stored.model!r}")
            loaded[category_id] = model.model_validate(stored.doc)
        return loaded
