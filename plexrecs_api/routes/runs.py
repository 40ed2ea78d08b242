from __future__ import annotations

import threading

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import Answer, ConfigSnapshot, Store
from plexrecs_api.errors import ApiError, not_found
from plexrecs_api.models import JobRunOut, RunRequest, RunResponse
from plexrecs_api.routes import errors
from plexrecs_assets.run_blocks import AUDIENCE_ORDER
from plexrecs_api.state import api_state

router = APIRouter()


def _latest_run(_snapshot: ConfigSnapshot, store: Store) -> Answer:
    if not store.exists():
        raise not_found("no run yet: the database does not exist")
    with store.engine.connect() as conn:
        job_id = queries.latest_job_id(conn)
        summary = queries.job_summary(conn, job_id) if job_id is not None else None
        if summary is not None:
            summary["pairs"] = queries.latest_pairs(conn)
    if summary is None:
        raise not_found("no run yet")
    return Answer(200, JobRunOut.model_validate(summary).model_dump_json().encode())


@router.get("/v1/runs/latest", response_model=JobRunOut, responses=errors(404, 503), summary="Latest job run")
async def latest_run(request: Request) -> Response:
    """The latest ``job_run`` with its ``category_run`` rows and LLM token usage, and the latest
    status of every (user_key, category_id) pair in ``pairs``."""
    return await api_state(request).answer(("runs_latest",), _latest_run)


def selected_labels(requested: list[str] | None, snapshot: ConfigSnapshot) -> list[str]:
    """Configured labels for the request (each given as its label or its id), in YAML order;
    400 naming any unknown one."""
    if requested is None:
        return snapshot.yaml_order()
    chosen, unknown = set(), []
    for label in requested:
        category = snapshot.find(label) or snapshot.find_id(label)
        if category is None:
            unknown.append(label)
        else:
            chosen.add(category.label)
    if unknown:
        configured = ", ".join(repr(label) for label in snapshot.yaml_order())
        raise ApiError(
            400, "unknown_category",
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(repr(u) for u in unknown)}; "
            f"categories.yml has {configured}",
        )
    return [label for label in snapshot.yaml_order() if label in chosen]


@router.post(
    "/v1/run",
    response_model=RunResponse,
    responses=errors(400, 409, 422, 502, 503, 504),
    summary="Trigger a run (blocking, one at a time)",
)
async def trigger_run(request: Request, body: RunRequest | None = Body(None)) -> Response:
    """Submit ``plexrecs_job`` to dagster-webserver (it goes through the run queue and shows in
    the Dagster UI), wait for it to finish, and return its summary. A second call while one is
    running gets 409. ``{"categories": [...]}`` runs a subset; unknown labels get 400 before
    anything is submitted. If Dagster cannot be reached the answer is 503."""
    state = api_state(request)
    snapshot = state.config.current()
    labels = selected_labels(body.categories if body else None, snapshot)
    # Dagster runs are keyed by (category id, user); the response keeps the labels. This
    # endpoint runs the household's lists; each person's come from the daily schedule,
    # `plexrecs run` or the Dagster UI (it does not know Dagster's user partition order).
    household = [label for label in labels if snapshot.find(label).audience in ("household", "both")]
    if not household:
        raise ApiError(400, "per_person_only",
                       f"{', '.join(repr(label) for label in labels)} only make per-person lists, which POST /v1/run "
                       "does not run; they come from the daily schedule, `plexrecs run` or the Dagster UI")
    labels = household
    if not state.runs.try_begin():
        raise ApiError(409, "run_in_progress", "a run started through this API is still in progress; try again when it has finished")
    ids = [snapshot.find(label).id for label in labels]
    launcher, store, mtime = state.launcher(snapshot), state.store(snapshot), state.categories_mtime()
    id_order = [c.id for c in sorted(snapshot.categories, key=lambda c: AUDIENCE_ORDER[c.audience])]
    started = threading.Event()

    def work() -> dict:
        started.set()  # from here on, execute() releases the lock whatever happens
        return state.runs.execute(launcher, labels, ids, id_order, store, mtime)

    try:
        result = await run_in_threadpool(work)
    finally:
        if not started.is_set():
            state.runs.end()
    return Response(RunResponse.model_validate(result).model_dump_json(), media_type="application/json")
