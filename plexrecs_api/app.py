"""The FastAPI application: ``create_app(config_dir)``."""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from plexrecs_api.auth import OPEN_PATHS, BearerAuth
from plexrecs_api.deps import ConfigWatcher
from plexrecs_api.errors import install_error_handlers
from plexrecs_api.guard import RequestGuard
from plexrecs_api.routes import categories, health, pmm, recs, runs, users
from plexrecs_api.state import ApiState
from plexrecs_api.stuck import DagsterRuns

API_VERSION = "1.0.0"


def create_app(config_dir: str | Path, *, env: dict[str, str] | None = None, bind_host: str | None = None) -> FastAPI:
    """Build the API for the configuration in ``config_dir``.

    Raises ``ConfigError`` when the configuration is invalid (so ``plexrecs serve`` fails at
    start with a message naming the file, field and value). ``env`` defaults to
    ``os.environ``; it supplies the URL overrides and the optional ``API_TOKEN``. ``bind_host``
    is the address actually listened on when it is not ``api.bind_addr``'s (``serve --host``);
    the Host check allows it.
    """
    env = dict(os.environ) if env is None else dict(env)
    config = ConfigWatcher(config_dir, env=env)
    token = env.get("API_TOKEN") or None

    app = FastAPI(
        title="PlexRecs API",
        version=API_VERSION,
        description=(
            "Local HTTP API of PlexRecs: recommendations, runs and Kometa files. Every error has the body "
            '`{"error": {"code": "...", "message": "..."}}`.'
            + (" Bearer-token auth is on (API_TOKEN)." if token else "")
        ),
    )
    app.state.api = ApiState(config, token)
    app.state.api.dagster_runs = DagsterRuns(env.get("DAGSTER_HOME") or None)
    install_error_handlers(app)
    for module in (health, categories, runs, recs, pmm, users):
        app.include_router(module.router)
    if token:
        app.add_middleware(BearerAuth, token=token)
        _document_bearer(app)

    def guard_settings() -> tuple[str, list[str]]:
        api = config.current().app.api
        return (bind_host if bind_host is not None else api.host), list(api.allowed_hosts)

    # Added last, so it runs first: a refused request never reaches auth or a route.
    app.add_middleware(RequestGuard, settings=guard_settings)
    return app


def _document_bearer(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            for path, operations in schema.get("paths", {}).items():
                if path not in OPEN_PATHS:
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
