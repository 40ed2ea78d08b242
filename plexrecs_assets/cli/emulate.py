"""``plexrecs emulate``: serve the five offline service emulators until SIGINT/SIGTERM.

Stdout carries exactly the ten ``KEY=VALUE`` lines a shell or a test can ``eval``/parse;
everything else goes to stderr."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Optional

import typer

from plexrecs_assets.cli import app

STRUCTURED_MODES = ("json_schema", "json_object", "none")


@app.command()
def emulate(
    world: Optional[Path] = typer.Option(None, "--world", help="World directory (default: the bundled demo world)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    tautulli_port: int = typer.Option(0, "--tautulli-port", help="0 picks a free port."),
    plex_port: int = typer.Option(0, "--plex-port"),
    tmdb_port: int = typer.Option(0, "--tmdb-port"),
    llm_port: int = typer.Option(0, "--llm-port"),
    overseerr_port: int = typer.Option(0, "--overseerr-port"),
    latency: float = typer.Option(0.0, "--latency", help="Seconds to wait before every answer."),
    rate_429: float = typer.Option(0.0, "--rate-429", help="Share of requests answered 429 with Retry-After."),
    retry_after: float = typer.Option(1.0, "--retry-after", help="Retry-After seconds on injected 429s."),
    rate_500: float = typer.Option(0.0, "--rate-500", help="Share of requests answered 500."),
    malformed_rate: float = typer.Option(0.0, "--malformed-rate", help="Share of 2xx answers with a cut-off body."),
    max_rps: Optional[float] = typer.Option(None, "--max-rps", help="Answer 429 beyond this many requests/second."),
    bad_credentials: bool = typer.Option(False, "--bad-credentials", help="Reject every credential."),
    service: list[str] = typer.Option([], "--service", help="Service(s) the fault options apply to, repeated or comma-separated (default: all)."),
    llm_mistake_rate: float = typer.Option(0.0, "--llm-mistake-rate"),
    llm_invalid_json_rate: float = typer.Option(0.0, "--llm-invalid-json-rate"),
    llm_fail_label: list[str] = typer.Option([], "--llm-fail-label", help="Category label whose answers are invalid JSON."),
    llm_structured_output: str = typer.Option("json_schema", "--llm-structured-output",
                                              help="json_schema | json_object | none"),
    llm_model: list[str] = typer.Option([], "--llm-model", help="Model name(s) the LLM serves (default: a common set)."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice (faults, LLM mistakes)."),
) -> None:
    """Start the five service emulators (Tautulli, Plex, TMDb, LLM, Overseerr) and print their env."""
    from plexrecs_emulators.faults import Faults, FaultsError
    from plexrecs_emulators.suite import SERVICES, EmulatorSuite
    from plexrecs_emulators.world.loader import WorldFormatError

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    service = [name.strip() for value in service for name in value.split(",") if name.strip()]
    unknown = [s for s in service if s not in SERVICES]
    if unknown:
        raise typer.BadParameter(f"unknown service {unknown[0]!r}; choose from {', '.join(SERVICES)}",
                                 param_hint="--service")
    if llm_structured_output not in STRUCTURED_MODES:
        raise typer.BadParameter(f"{llm_structured_output!r} is not one of {', '.join(STRUCTURED_MODES)}",
                                 param_hint="--llm-structured-output")
    try:
        faults = Faults(seed=seed).updated({
            "latency_s": latency, "rate_429": rate_429, "retry_after_s": retry_after, "rate_500": rate_500,
            "malformed_rate": malformed_rate, "bad_credentials": bad_credentials, "max_rps": max_rps,
        })
    except FaultsError as exc:
        raise typer.BadParameter(str(exc)) from exc
    targets = service or list(SERVICES)
    llm_options = {"mistake_rate": llm_mistake_rate, "invalid_json_rate": llm_invalid_json_rate,
                   "fail_labels": list(llm_fail_label), "structured_output": llm_structured_output, "seed": seed}
    if llm_model:
        llm_options["models"] = list(llm_model)
    ports = {"tautulli": tautulli_port, "plex": plex_port, "tmdb": tmdb_port, "llm": llm_port,
             "overseerr": overseerr_port}
    try:
        suite = EmulatorSuite(world, host=host, ports=ports,
                              faults={name: faults if name in targets else Faults(seed=seed) for name in SERVICES},
                              llm_options=llm_options)
    except (WorldFormatError, ValueError) as exc:
        typer.echo(f"plexrecs emulate: {exc}", err=True)
        raise typer.Exit(2)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        suite.start()
    except OSError as exc:
        typer.echo(f"plexrecs emulate: cannot listen on {host}: {exc}", err=True)
        raise typer.Exit(2)
    try:
        for key, value in suite.env().items():
            sys.stdout.write(f"{key}={value}\n")
        sys.stdout.flush()
        world_path = suite.world.path
        typer.echo(f"emulators serving world {world_path} ({len(suite.world.titles)} titles); "
                   "Ctrl-C or SIGTERM to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        suite.stop()
        typer.echo("emulators stopped", err=True)
