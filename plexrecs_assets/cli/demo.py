"""``plexrecs demo``: the whole product on the bundled demo world, offline.

Starts ``plexrecs emulate``, writes a demo config under ``--data-dir`` pointing at it, runs
``plexrecs run`` with the emulators' keys in its environment, then stops the emulators and
prints where everything is. Run it twice to see the 60-day dedupe at work.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer
from plexrecs_assets.cli.consoles import console as make_console

from plexrecs_assets.cli import app

ENV_KEYS = ("TAUTULLI_URL", "TAUTULLI_API_KEY", "PLEX_URL", "PLEX_TOKEN", "TMDB_API_BASE", "TMDB_API_KEY",
            "LLM_API_BASE", "LLM_API_KEY", "OVERSEERR_URL", "OVERSEERR_API_KEY")
console = make_console(stderr=True)


def read_emulator_env(proc: subprocess.Popen) -> dict[str, str]:
    env: dict[str, str] = {}
    assert proc.stdout is not None
    while len(env) < len(ENV_KEYS):
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"plexrecs emulate exited early (code {proc.poll()})")
        key, _, value = line.strip().partition("=")
        if key in ENV_KEYS:
            env[key] = value
    return env


def browse_hints(config_dir: Path, data_dir: Path) -> list[str]:
    """Commands that work when pasted into a shell from any folder: absolute paths to this
    virtualenv's tools, and for the UI the emulators started again with their env exported."""
    from plexrecs_assets.demo import REPO_CONFIG_DIR

    tools = Path(sys.executable).parent
    q = shlex.quote
    plexrecs, dagster = q(str(tools / "plexrecs")), q(str(tools / "dagster"))
    workspace = q(str(REPO_CONFIG_DIR.parent / "workspace.yaml"))
    emulate = f"set -a; eval \"$( ({plexrecs} emulate 2>/dev/null &) | head -n {len(ENV_KEYS)})\"; set +a"
    return [
        f"  API: {plexrecs} serve --config-dir {q(str(config_dir))}",
        f"  UI:  {emulate}; DAGSTER_HOME={q(str(data_dir / 'dagster_home'))} PLEXRECS_CONFIG_DIR={q(str(config_dir))} "
        f"{dagster} dev -w {workspace}",
        "  (the UI line starts the emulators in the background, so runs launched from the UI work; "
        "stop them afterwards with: pkill -f 'plexrecs emulate')",
    ]


@app.command()
def demo(
    data_dir: Path = typer.Option(Path("demo-data"), "--data-dir", help="Where config, database, JSON and Kometa files go."),
    mistake_rate: float = typer.Option(0.15, "--llm-mistake-rate", help="Share of LLM items with a realistic mistake."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Run as if it were this day (YYYY-MM-DD); see plexrecs run."),
) -> None:
    """Run PlexRecs once against the bundled emulators (all output under --data-dir)."""
    from plexrecs_assets.demo import ensure_demo_config
    from plexrecs_assets.runner import parse_as_of

    try:
        as_of = parse_as_of(as_of)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2)

    data_dir = data_dir.resolve()
    config_dir = data_dir / "config"
    cmd = [sys.executable, "-m", "plexrecs_assets.cli", "emulate", "--llm-mistake-rate", str(mistake_rate)]
    console.print("[bold]Starting the emulators[/] (Tautulli, Plex, TMDb, LLM, Overseerr) …")
    emulators = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        emulator_env = read_emulator_env(emulators)
        for path in ensure_demo_config(config_dir, data_dir, emulator_env):
            console.print(f"Keeping your {path} (delete it to get the demo's again)", highlight=False)
        run_env = {**os.environ, **emulator_env, "DAGSTER_HOME": str(data_dir / "dagster_home"),
                   "PLEXRECS_CONFIG_DIR": str(config_dir)}
        (data_dir / "dagster_home").mkdir(parents=True, exist_ok=True)
        console.print(f"[bold]Running[/] plexrecs run --config-dir {config_dir}")
        code = subprocess.call([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(config_dir)]
                               + (["--as-of", as_of] if as_of else []), env=run_env)
    finally:
        emulators.send_signal(signal.SIGTERM)
        try:
            emulators.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulators.kill()
    console.print("\n[bold]Where everything is[/]")
    for name, path in (("config", config_dir), ("database", data_dir / "plexrecs.sqlite"),
                       ("JSON (raw + resolved, per run)", data_dir / "recommendations" / "runs"),
                       ("Kometa collection files", data_dir / "kometa"), ("DAGSTER_HOME", data_dir / "dagster_home")):
        console.print(f"  {name:32} {path}")
    console.print("\n[bold]Browse it[/] (each command is one line; copy it whole)")
    for line in browse_hints(config_dir, data_dir):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code)
