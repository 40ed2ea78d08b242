"""``plexrecs serve``: the local HTTP API (FastAPI on uvicorn), bound to ``api.bind_addr``.

Auth: none by default (the spec's sidecar on a private address). Set ``API_TOKEN`` in the
environment to require ``Authorization: Bearer <API_TOKEN>`` on every endpoint except
``/v1/health`` and the API docs (``/openapi.json``, ``/docs``).
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Optional

import typer

from plexrecs_assets.cli import app


def exposure_warning(bind_host: str, token: str | None) -> str | None:
    """A warning when anyone beyond this machine can reach an API that asks for no token."""
    if token:
        return None
    name = bind_host.strip("[]").lower()
    try:
        loopback = ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = name == "localhost" or name.endswith(".localhost")
    if loopback:
        return None
    return (f"warning: the API listens on {bind_host}, beyond loopback, and API_TOKEN is not set: anyone who can "
            "reach this address can read the recommendations and start runs (which spend LLM tokens). "
            "Set API_TOKEN, or bind to 127.0.0.1 (api.bind_addr) on a machine others can reach.")


@app.command()
def serve(
    config_dir: Optional[Path] = typer.Option(
        None, "--config-dir", help="Folder with app.yml and categories.yml (default: $PLEXRECS_CONFIG_DIR, else /config)"),
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (default: from api.bind_addr)"),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default: from api.bind_addr)"),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log", help="Log every request"),
) -> None:
    """Serve the local HTTP API (GET /v1/health, /v1/categories, /v1/runs/latest, /v1/recs/LABEL/latest and .../latest/raw,
    /v1/pmm/collections; POST /v1/run). Set API_TOKEN to require a bearer token."""
    import uvicorn

    from plexrecs_api.app import create_app
    from plexrecs_assets.config import ConfigError, config_dir_from_env

    import os

    config_dir = config_dir or config_dir_from_env()
    try:
        api = create_app(config_dir, bind_host=host)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    settings = api.state.api.config.current().app
    from plexrecs_assets.dagster_runs import recover_if_idle

    failed = recover_if_idle(settings.paths.db_path)  # runs of killed processes would jam the run queue
    if failed:
        typer.echo(f"marked {len(failed)} orphaned Dagster run(s) failed (their process is gone)", err=True)
    if not settings.api.enabled:
        typer.echo("note: api.enabled is false in app.yml (loop mode will not start the API); serving anyway "
                   "because `plexrecs serve` was asked for explicitly", err=True)
    from plexrecs_assets.logging_setup import setup_logging

    # uvicorn's own loggers propagate to this redacting handler (log_config=None below).
    setup_logging(settings.app.log_level, settings.app.log_format)
    bind_host = host or settings.api.host
    bind_port = port or settings.api.port
    typer.echo(f"PlexRecs API on http://{bind_host}:{bind_port} (config {config_dir}); OpenAPI at /openapi.json", err=True)
    warning = exposure_warning(bind_host, os.environ.get("API_TOKEN") or None)
    if warning:
        typer.echo(warning, err=True)
    uvicorn.run(api, host=bind_host, port=bind_port, log_level=settings.app.log_level, access_log=access_log,
                server_header=False, proxy_headers=False, log_config=None)
