"""``plexrecs users``: sync the people per-person recommendations are for from Tautulli and list them.

Reads ``get_users`` and the plays of the ``tautulli.lookback_days`` window, applies
``users.include``/``users.exclude`` from app.yml and stores the result in the ``users`` table
(stable user keys; users not kept become inactive). Exits 2 on a bad config or a missing
TAUTULLI_API_KEY, 1 when Tautulli fails.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from plexrecs_assets.cli import app
from plexrecs_assets.cli.consoles import console
from plexrecs_assets.config import ConfigError, config_dir_from_env, load_app_config
from plexrecs_assets.logging_setup import setup_logging

out = console(highlight=False, soft_wrap=True)
err = console(stderr=True, highlight=False, soft_wrap=True)


def users_report(stored: list[dict], selection) -> dict:
    """What ``--json`` prints: the active users as stored, the skipped rows and unknown entries."""
    return {
        "users": stored,
        "skipped": [{"user": who, "reason": reason} for who, reason in selection.skipped],
        "unknown": list(selection.unknown),
    }


def print_users(report: dict, lookback: str) -> None:
    table = Table(title=f"PlexRecs users (plays in {lookback})")
    for col in ("key", "name", "plays", "last play"):
        table.add_column(col, overflow="fold", justify="right" if col == "plays" else "left")
    for user in report["users"]:
        table.add_row(escape(user["user_key"]), escape(user["name"]), str(user["plays"]),
                      (user["last_play_at"] or "-")[:10])
    if report["users"]:
        out.print(table)
    else:
        out.print("no users to recommend for (see the skipped users below and users: in app.yml)")
    for entry in report["skipped"]:
        out.print(f"skipped {escape(entry['user'])}: {escape(entry['reason'])}")
    for entry in report["unknown"]:
        err.print(f"[yellow]warning:[/] users.include/exclude entry {escape(repr(entry))} matches no Tautulli "
                  "user (give a username or a user key)")


@app.command()
def users(
    config_dir: Optional[Path] = typer.Option(None, "--config-dir", help="Folder with app.yml (default: $PLEXRECS_CONFIG_DIR or /config)."),
    as_json: bool = typer.Option(False, "--json", help="Print {\"users\": [...], \"skipped\": [...], \"unknown\": [...]} instead of a table."),
) -> None:
    """Sync the users from Tautulli (users.include/exclude in app.yml) and list them with their plays."""
    from plexrecs_assets.clients.base import ServiceError, redact_text
    from plexrecs_assets.clients.tautulli import TautulliClient
    from plexrecs_assets.people.sync import sync_from_tautulli
    from plexrecs_assets.store import users as users_store
    from plexrecs_assets.store.db import init_db
    from plexrecs_assets.store.migrations import SchemaTooNewError

    config_dir = config_dir or config_dir_from_env()
    env = dict(os.environ)
    try:
        cfg = load_app_config(config_dir, env)
    except ConfigError as exc:
        err.print(f"[bold red]config error:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    key = env.get("TAUTULLI_API_KEY")
    if not key:
        err.print("[bold red]error:[/] TAUTULLI_API_KEY is not set: secrets come only from the environment")
        raise typer.Exit(2)
    setup_logging("error", "text", secrets=[key])  # retry chatter would interleave with the table
    try:
        engine = init_db(cfg.paths.db_path)
    except (SchemaTooNewError, OSError, sqlite3.Error) as exc:
        err.print(f"[bold red]error:[/] database {escape(cfg.paths.db_path)}: {escape(str(exc))}")
        raise typer.Exit(2)
    try:
        with TautulliClient(cfg.tautulli.url, key) as client:
            selection = sync_from_tautulli(client, engine, cfg)
    except ServiceError as exc:
        err.print(f"[bold red]error:[/] {escape(redact_text(str(exc), [key]))}")
        err.print("run `plexrecs check` to test the connection")
        raise typer.Exit(1)
    report = users_report(users_store.list_users(engine), selection)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    lookback = cfg.tautulli.lookback_days
    print_users(report, "the whole history" if lookback == "all" else f"the last {lookback} days")
