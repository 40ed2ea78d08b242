"""``plexrecs loop``: loop mode, and the one local development command.

Starts dagster-webserver (the Dagster UI and the GraphQL endpoint ``POST /v1/run`` uses),
dagster-daemon (it runs the daily schedule and dequeues runs) and the API, as child
processes; forwards SIGTERM/SIGINT to them and exits when any of them exits.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import typer

from plexrecs_assets.cli import app

WORKSPACE_YAML = """\
# Written by `plexrecs loop` (no -w/--workspace given): the code location the API submits to.
load_from:
  - python_module:
      module_name: plexrecs_assets.definitions
      location_name: plexrecs
"""


def _tool(name: str) -> str:
    """The console script installed next to this interpreter (the same virtualenv)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def build_children(config_dir: Path, dagster_home: Path, workspace: Path, webserver_host: str, webserver_port: int,
                   api_enabled: bool):
    from plexrecs_assets.cli.supervisor import ChildSpec

    env = {
        "PLEXRECS_CONFIG_DIR": str(config_dir),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_WEBSERVER_URL": f"http://{'127.0.0.1' if webserver_host in ('0.0.0.0', '::') else webserver_host}:{webserver_port}",
    }
    children = [
        ChildSpec("dagster-webserver", [_tool("dagster-webserver"), "-h", webserver_host, "-p", str(webserver_port),
                                        "-w", str(workspace)], env),
        ChildSpec("dagster-daemon", [_tool("dagster-daemon"), "run", "-w", str(workspace)], env),
    ]
    if api_enabled:
        serve = "from plexrecs_assets.cli import main; main()"
        children.append(ChildSpec("api", [sys.executable, "-c", serve, "serve", "--config-dir", str(config_dir)], env))
    return children


@app.command()
def loop(
    config_dir: Optional[Path] = typer.Option(
        None, "--config-dir", help="Folder with app.yml and categories.yml (default: $PLEXRECS_CONFIG_DIR, else /config)"),
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", help="Dagster workspace file (default: ./workspace.yaml, else one written to DAGSTER_HOME)"),
    webserver_host: Optional[str] = typer.Option(
        None, "--webserver-host", help="Where the Dagster UI listens (default: the host of api.dagster_url; 0.0.0.0 in containers)"),
    webserver_port: Optional[int] = typer.Option(
        None, "--webserver-port", min=1, max=65535, help="Dagster UI port (default: the port of api.dagster_url)"),
) -> None:
    """Loop mode: dagster-webserver, dagster-daemon (the schedule) and the API together, until stopped."""
    from plexrecs_assets.cli.supervisor import Supervisor
    from plexrecs_assets.config import ConfigError, config_dir_from_env, load_app_config, load_categories
    from plexrecs_assets.runner import ensure_dagster_home

    config_dir = (config_dir or config_dir_from_env()).resolve()
    try:
        settings = load_app_config(config_dir)
        load_categories(config_dir)  # fail here, readably, rather than in three child processes
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    dagster_home = ensure_dagster_home(settings.paths.db_path)
    _recover_orphans(settings.paths.db_path)
    if workspace is None:
        workspace = Path("workspace.yaml")
        if not workspace.is_file():
            workspace = dagster_home / "workspace.yaml"
            workspace.write_text(WORKSPACE_YAML, encoding="utf-8")
    elif not workspace.is_file():
        typer.echo(f"--workspace: no such file {workspace}", err=True)
        raise typer.Exit(2)
    url = urlsplit(settings.api.dagster_url)
    children = build_children(
        config_dir, dagster_home, workspace.resolve(),
        webserver_host or url.hostname or "127.0.0.1", webserver_port or url.port or 3000, settings.api.enabled,
    )
    typer.echo(f"DAGSTER_HOME={dagster_home}; Dagster UI on port {children[0].argv[4]}"
               + (f"; API on {settings.api.bind_addr}" if settings.api.enabled else "; API disabled (api.enabled: false)"),
               err=True)
    raise typer.Exit(Supervisor(children).run())


def _recover_orphans(db_path: str) -> None:
    """Runs left STARTED by a killed process would hold the run queue: fail them before the daemon starts."""
    from plexrecs_assets.dagster_runs import recover_if_idle

    failed = recover_if_idle(db_path)
    if failed:
        typer.echo(f"marked {len(failed)} orphaned Dagster run(s) failed (their process is gone): {', '.join(failed)}",
                   err=True)
