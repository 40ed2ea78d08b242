"""The ``plexrecs`` command line (Typer + rich).

Each sub-command lives in its own module and registers itself on ``app``;
this file only assembles them.
"""
from __future__ import annotations

import warnings

import typer

# Dagster flags backfill_policy and friends as beta; that is noise for people running PlexRecs.
warnings.filterwarnings("ignore", message=r".*is currently in beta.*")

app = typer.Typer(
    name="plexrecs",
    help="PlexRecs: recommendations for your Plex server, published as Kometa collections.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """PlexRecs: recommendations for your Plex server, published as Kometa collections."""


# Sub-command modules register themselves on import.
from plexrecs_assets.cli import emulate as _emulate  # noqa: E402,F401

for _optional in ("run", "demo", "serve", "check", "loop", "users"):
    try:  # modules land one by one; a missing one must not break the others
        __import__(f"plexrecs_assets.cli.{_optional}")
    except ModuleNotFoundError as exc:
        if exc.name != f"plexrecs_assets.cli.{_optional}":
            raise


def main() -> None:  # pragma: no cover - console entry point
    app()
