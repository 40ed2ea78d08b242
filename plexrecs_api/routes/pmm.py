from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import Response

from plexrecs_assets.keys import split_store_label
from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import Answer, ConfigSnapshot, Store, stat_sig
from plexrecs_api.errors import ApiError
from plexrecs_api.files import contained, iso_mtime, pmm_summary
from plexrecs_api.models import PmmCollections
from plexrecs_api.routes import errors
from plexrecs_api.state import api_state

router = APIRouter()

_COLUMNS = (("pmm_movie_yaml_path", "movie"), ("pmm_tv_yaml_path", "tv"))


def _collections(snapshot: ConfigSnapshot, store: Store) -> Answer:
    runs: dict[str, dict] = {}
    if store.exists():
        with store.engine.connect() as conn:
            runs = queries.latest_success_by_label(conn, snapshot.yaml_order())
    files, deps = [], []
    for label in snapshot.yaml_order():
        run = runs.get(label)
        if run is None:
            continue
        for column, media_type in _COLUMNS:
            if not run.get(column):
                continue
            try:
                path = contained(snapshot.app.paths.pmm_out_dir, run[column], "Kometa file", label)
            except ApiError:
                continue  # refused (and logged): never list a file outside pmm_out_dir
            deps.append((str(path), stat_sig(path)))
            summary = pmm_summary(path)
            try:
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            if summary is None:
                continue
            items, names = summary
            files.append({
                "category": label,
                "media_type": media_type,
                "path": str(path),
                "items": items,
                "modified_at": iso_mtime(mtime),
                "collection_names": names,
                "job_id": run["job_id"],
            })
    if store.exists():
        with store.engine.connect() as conn:
            playlists = queries.latest_playlists(conn)
        for entry in playlists:
            label, user_key = split_store_label(entry["label"])
            if snapshot.find(label) is None:
                continue  # a category no longer configured
            try:
                path = contained(snapshot.app.paths.pmm_out_dir, entry["path"], "Kometa playlist file", label)
                mtime = os.stat(path).st_mtime
            except (ApiError, OSError):
                continue
            summary = pmm_summary(path)
            if summary is None:
                continue
            deps.append((str(path), stat_sig(path)))
            items, names = summary
            files.append({"category": label, "media_type": "playlist", "user_key": user_key, "path": str(path),
                          "items": items, "modified_at": iso_mtime(mtime), "collection_names": names,
                          "job_id": entry["job_id"]})
    body = PmmCollections.model_validate({"collections": files}).model_dump_json().encode()
    return Answer(200, body, deps=tuple(deps))


@router.get("/v1/pmm/collections", response_model=PmmCollections, responses=errors(503), summary="Kometa files written")
async def pmm_collections(request: Request) -> Response:
    """The Kometa (PMM) collection files of each configured category's latest successful run,
    with media type, path, number of TMDb ids and modification time, then each person's Kometa
    playlist files (``media_type: playlist``, with their ``user_key``)."""
    return await api_state(request).answer(("pmm",), _collections)
