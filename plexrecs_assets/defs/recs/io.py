"""The IO manager of the per-category assets: each category's typed document (core.documents)
is the asset partition's value, so resolved_recs and pmm_collections receive their inputs from
Dagster instead of looking up file paths in the store.

A step covers many categories (single-run backfill policy), so a value is a dict of category
id -> ``CategoryDraft`` | ``CategoryResult`` | ``CategoryFailure``; each is stored atomically as
``<db dir>/documents/<asset>/<category id>.json`` and loaded back per partition. A partition
that was never materialized loads as missing (absent from the dict).
"""
from __future__ import annotations

import json
from pathlib import Path

from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import BaseModel

from plexrecs_assets.core import outputs
from plexrecs_assets.core.config import load_app_config
from plexrecs_assets.core.documents import CategoryDraft, CategoryFailure, CategoryResult, DocumentError, read_document

MODELS: dict[str, type[BaseModel]] = {m.__name__: m for m in (CategoryDraft, CategoryResult, CategoryFailure)}


class _Stored(BaseModel):
    model: str
    doc: dict


class CategoryDocumentIOManager(ConfigurableIOManager):
    config_dir: str

    def _dir(self, asset_name: str) -> Path:
        base = Path(load_app_config(self.config_dir).paths.db_path).parent / "documents"
        return outputs.inside(base, base / outputs.file_key(asset_name.replace("_", "-")))

    def handle_output(self, context: OutputContext, obj: dict[str, BaseModel] | None) -> None:
        if not obj:
            return
        folder = self._dir(context.asset_key.path[-1])
        for category_id, doc in obj.items():
            path = outputs.inside(folder, folder / f"{outputs.file_key(category_id)}.json")
            outputs.atomic_write_json(path, {"model": type(doc).__name__, "doc": json.loads(doc.model_dump_json())})

    def load_input(self, context: InputContext) -> dict[str, BaseModel]:
        folder = self._dir(context.asset_key.path[-1])
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
