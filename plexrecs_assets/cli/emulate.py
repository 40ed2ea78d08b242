"""``plexrecs emulate``: serve the offline emulators (placeholder until the emulators land)."""
from __future__ import annotations

from plexrecs_assets.cli import app


@app.command()
def emulate() -> None:
    """Start the five service emulators on 127.0.0.1."""
    raise SystemExit("not implemented yet")
