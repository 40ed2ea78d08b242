from __future__ import annotations

import hmac
import json
import logging
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import StoreUnavailable
from plexrecs_api.models import Health
from plexrecs_api.routes import errors
from plexrecs_api.state import api_state
from plexrecs_assets.store.read_model import stuck_jobs

log = logging.getLogger("plexrecs_api")

router = APIRouter()


@router.get("/v1/health", response_model=Health, responses=errors(), summary="Health check")
async def health(request: Request) -> Response:
    """Whether the database is reachable, and the status and time of the last run. Never fails
    because the database is missing or broken: that is reported as ``reachable: false``.
    ``degraded`` also when a run has been queued or running for longer than
    ``api.stuck_run_after_s`` (listed in ``stuck_runs`` with its id and for how long).
    The database path and the configuration error's details are shown only with the API token."""
    state = api_state(request)
    snapshot = state.config.current()
    store = state.store(snapshot)
    database: dict = {"reachable": False, "path": str(store.path)}
    last_run = None
    limit_s = snapshot.app.api.stuck_run_after_s
    stuck: list[dict] = []
    try:
        token = store.token()
        if token == ("missing",):
            database["error"] = "the database file does not exist yet (no run so far)"
        else:
            last_run = await _last_run(state, store, token)
            database["reachable"] = True
            stuck = await run_in_threadpool(_stuck_jobs, store, limit_s)
    except StoreUnavailable as exc:
        database["error"] = str(exc)
    except Exception as exc:  # a corrupt store must degrade health, not break it
        database["error"] = f"cannot read the database {store.path}: {getattr(exc, 'orig', None) or exc.__class__.__name__}"
    stuck = _merge(stuck, await _stuck_dagster_runs(state, limit_s))
    config_error = state.config.error
    if not _authenticated(request, state.token):
        database, config_error = _public(database, store.path, config_error, state.config.error_file)
    body = {
        "status": "ok" if database["reachable"] and config_error is None and not stuck else "degraded",
        "database": database,
        "config": {"valid": config_error is None, "error": config_error},
        "last_run": last_run,
        "run_in_progress": state.runs.busy,
        "stuck_runs": stuck,
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


def _authenticated(request: Request, token: str | None) -> bool:
    given = request.headers.get("authorization", "").encode()
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}".encode())


def _public(database: dict, db_path: Path, config_error: str | None, error_file: str | None) -> tuple[dict, str | None]:
    """Health as anyone may see it (the endpoint is open for container health checks): no
    absolute path, and no text of a rejected configuration (it may quote what was pasted)."""
    public = {k: v for k, v in database.items() if k != "path"}
    if public.get("error"):
        public["error"] = public["error"].replace(str(db_path), db_path.name)
    if config_error is not None:
        config_error = (f"{error_file or 'the configuration'} is invalid, the previous configuration is still "
                        "served; `plexrecs check` and the server log name the field (so does this endpoint "
                        "with the API token)")
    return public, config_error


async def _last_run(state, store, token) -> dict | None:
    memo = state.last_run_memo
    if memo is not None and memo[0] == token:
        return memo[1]

    def build():
        with store.engine.connect() as conn:
            job_id = queries.latest_job_id(conn)
            return queries.job_row(conn, job_id) if job_id is not None else None

    row = await run_in_threadpool(build)
    result = None
    if row:
        result = {"job_id": row["id"], "status": row["status"], "started_at": row["started_at"], "finished_at": row["finished_at"]}
    state.last_run_memo = (token, result)
    return result


def _stuck_jobs(store, limit_s: float) -> list[dict]:
    with store.engine.connect() as conn:
        return stuck_jobs(conn, limit_s, time.time())


async def _stuck_dagster_runs(state, limit_s: float) -> list[dict]:
    try:
        return await run_in_threadpool(state.dagster_runs.stuck, limit_s)
    except Exception as exc:  # health must answer even when the Dagster storage cannot be read
        log.warning("cannot read Dagster runs for /v1/health: %s", type(exc).__name__)
        return []


def _merge(jobs: list[dict], dagster: list[dict]) -> list[dict]:
    """One entry per run: a job_run and its Dagster run are the same run."""
    known = {j["dagster_run_id"] for j in jobs if j.get("dagster_run_id")}
    return jobs + [d for d in dagster if d["dagster_run_id"] not in known]
