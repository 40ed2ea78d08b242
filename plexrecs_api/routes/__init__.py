"""Thin route modules; each exposes ``router``."""
from __future__ import annotations

from plexrecs_api.models import ErrorBody

_DESCRIPTIONS = {
    400: "bad request (e.g. an unknown category label)",
    401: "missing or wrong bearer token (only when API_TOKEN is set)",
    404: "not found",
    409: "a run is already in progress",
    422: "the request does not match the schema",
    500: "internal error (details are in the server log, never in the answer)",
    502: "Dagster refused the request",
    503: "a dependency (database or Dagster) is unavailable",
    504: "the run did not finish in time",
}


def errors(*statuses: int) -> dict:
    """OpenAPI ``responses`` entries for the error statuses a route can answer with."""
    wanted = {401, 500, *statuses}
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in sorted(wanted)}
