from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import Answer, ConfigSnapshot, Store, stat_sig
from plexrecs_api.errors import not_found
from plexrecs_api.files import contained, read_json_file
from plexrecs_api.models import RawRecs, ResolvedRecs
from plexrecs_api.routes import errors
from plexrecs_api.state import api_state

router = APIRouter()

LabelParam = Path(
    description="the category label, percent-encoded (e.g. Because%20%E2%80%94%20The%20Jinx)",
    examples=["True Crime", "Because — The Jinx"],
)

IdParam = Path(
    description="the category id (categories.yml `id`, by default a slug of the label; see GET /v1/categories)",
    pattern=r"^[a-z0-9-]+$",
    max_length=100,
    examples=["true-crime-4cfab3", "because-the-jinx-809728"],
)

_KINDS = {
    "resolved": ("resolved_json_path", ResolvedRecs, "resolved JSON"),
    "raw": ("raw_json_path", RawRecs, "raw JSON"),
}


def _recs_builder(label: str, kind: str):
    column, model, what = _KINDS[kind]

    def build(snapshot: ConfigSnapshot, store: Store) -> Answer:
        # The label only selects a row; the file path comes from the store and must lie in json_out_dir.
        category = snapshot.find(label)
        if category is None:
            raise not_found(f"no category {label!r} in categories.yml")
        run = None
        if store.exists():
            with store.engine.connect() as conn:
                run = queries.latest_success(conn, category.label)
        if run is None or not run.get(column):
            raise not_found(f"category {category.label!r} has no successful run yet")
        path = contained(snapshot.app.paths.json_out_dir, run[column], what, category.label)
        body = read_json_file(path, model, what, category.label)
        return Answer(200, body, deps=((str(path), stat_sig(path)),))

    return build


async def _serve(request: Request, label: str, kind: str, *, by_id: bool = False) -> Response:
    state = api_state(request)
    snapshot = state.config.current()
    category = snapshot.find_id(label) if by_id else snapshot.find(label)
    if category is None:  # answered before touching the store or the cache
        raise not_found(f"no category with {'id' if by_id else 'label'} {label!r} in categories.yml")
    # The store rows are keyed by label (the spec's tables), so both routes share one answer.
    return await state.answer(("recs", kind, category.label), _recs_builder(category.label, kind))


@router.get(
    "/v1/categories/{category_id}/recs/latest/raw",
    response_model=RawRecs,
    responses=errors(404, 422, 503),
    summary="Latest raw LLM output of a category, by id",
)
async def latest_raw_by_id(request: Request, category_id: str = IdParam) -> Response:
    """As ``GET /v1/recs/{label}/latest/raw``, addressed by the category's id (no encoding needed)."""
    return await _serve(request, category_id, "raw", by_id=True)


@router.get(
    "/v1/categories/{category_id}/recs/latest",
    response_model=ResolvedRecs,
    responses=errors(404, 422, 503),
    summary="Latest resolved recommendations of a category, by id",
)
async def latest_resolved_by_id(request: Request, category_id: str = IdParam) -> Response:
    """As ``GET /v1/recs/{label}/latest``, addressed by the category's id (no encoding needed)."""
    return await _serve(request, category_id, "resolved", by_id=True)


# Raw first: "{label:path}" may contain "/", so ".../latest/raw" must not be taken for a label ending in "/latest".
@router.get(
    "/v1/recs/{label:path}/latest/raw",
    response_model=RawRecs,
    responses=errors(404, 422, 503),
    summary="Latest raw LLM output of a category",
)
async def latest_raw(request: Request, label: str = LabelParam) -> Response:
    """The raw JSON of the category's latest successful run, as the LLM returned it.
    ``label`` is percent-encoded (spaces, em dashes); an unconfigured label gets 404."""
    return await _serve(request, label, "raw")


@router.get(
    "/v1/recs/{label:path}/latest",
    response_model=ResolvedRecs,
    responses=errors(404, 422, 503),
    summary="Latest resolved recommendations of a category",
)
async def latest_resolved(request: Request, label: str = LabelParam) -> Response:
    """The resolved JSON (TMDb-verified items) of the category's latest successful run.
    ``label`` is percent-encoded (spaces, em dashes); an unconfigured label gets 404."""
    return await _serve(request, label, "resolved")
