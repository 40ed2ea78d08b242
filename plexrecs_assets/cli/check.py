"""``plexrecs check``: validate the config, then test every configured connection.

One line per service, PASS or FAIL, and for a failure the fix. Secrets are never printed:
the clients already redact them from their errors, and ``redact_text`` catches any echo.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import typer
from plexrecs_assets.cli.consoles import console
from rich.markup import escape

from plexrecs_assets.cli import app
from plexrecs_assets.clients.base import CheckResult, RetryPolicy, redact_text
from plexrecs_assets.config import SECRET_ENV_VARS, AppConfig, ConfigError, config_dir_from_env, \
    load_app_config, load_categories
from plexrecs_assets.logging_setup import setup_logging

# A person is waiting at the terminal: fail fast rather than ride out a long outage.
CHECK_TIMEOUT_S = 5.0
CHECK_RETRY = RetryPolicy(attempts=2, backoff_s=0.2, max_wait_s=1.0)

out = console(highlight=False, soft_wrap=True)
err = console(stderr=True, highlight=False, soft_wrap=True)


def _service_checks(cfg: AppConfig) -> list[tuple[str, str, Callable[[str], CheckResult]]]:
    """(service, secret env var, probe taking the secret) for every configured service."""
    from plexrecs_assets.clients.llm import LlmClient
    from plexrecs_assets.clients.overseerr import OverseerrClient
    from plexrecs_assets.clients.plex import PlexClient
    from plexrecs_assets.clients.tautulli import TautulliClient
    from plexrecs_assets.clients.tmdb import TmdbClient

    opts = {"timeout_s": CHECK_TIMEOUT_S, "retry": CHECK_RETRY}
    rec = cfg.recommender
    checks = [
        ("tautulli", "TAUTULLI_API_KEY", lambda key: _probe(TautulliClient(cfg.tautulli.url, key, **opts))),
        ("plex", "PLEX_TOKEN", lambda key: _probe(PlexClient(cfg.plex.url, key, **opts))),
        ("tmdb", "TMDB_API_KEY", lambda key: _probe(TmdbClient(cfg.tmdb.url, api_key=key, **opts))),
        ("llm", "LLM_API_KEY", lambda key: _probe(LlmClient(rec.api_base, key, rec.model, **opts))),
    ]
    if cfg.overseerr.enabled:
        checks.append(("overseerr", "OVERSEERR_API_KEY",
                       lambda key: _probe(OverseerrClient(cfg.overseerr.url, key, **opts))))
    return checks


def _probe(client) -> CheckResult:
    try:
        return client.check()
    finally:
        close = getattr(client, "close", None)
        if close:
            close()


def run_checks(cfg: AppConfig, env: dict[str, str], only: set[str] | None = None) -> list[CheckResult]:
    results = []
    for service, var, probe in _service_checks(cfg):
        if only is not None and service not in only:
            continue
        secret = env.get(var)
        if not secret:
            results.append(CheckResult(service, False, f"{var} is not set",
                                       f"set {var} in the environment (secrets are never read from app.yml)"))
            continue
        try:
            results.append(probe(secret))
        except Exception as exc:  # noqa: BLE001 - one broken service must not hide the others
            results.append(CheckResult(service, False, f"{type(exc).__name__}: {exc}",
                                       "unexpected error: is this the right service and URL?"))
    return results


def format_result(result: CheckResult, secrets: list[str]) -> str:
    status = "[green]PASS[/]" if result.ok else "[bold red]FAIL[/]"
    line = f"{status} {result.service:<10} {escape(redact_text(result.detail, secrets))}"
    if not result.ok and result.fix:
        line += f"\n     {'':<10} fix: {escape(redact_text(result.fix, secrets))}"
    return line


@app.command()
def check(
    config_dir: Optional[Path] = typer.Option(None, "--config-dir", help="Folder with app.yml and categories.yml (default: $PLEXRECS_CONFIG_DIR or /config)."),
) -> None:
    """Validate the config and test every configured connection. Exits 1 on any failure, 2 on a bad config."""
    # Retry warnings would interleave with the result lines; the FAIL line already says it all.
    setup_logging("error", "text")
    config_dir = config_dir or config_dir_from_env()
    env = dict(os.environ)
    try:
        cfg = load_app_config(config_dir, env)
        categories = load_categories(config_dir)
    except ConfigError as exc:
        err.print(f"[bold red]config error:[/] {escape(str(exc))}")
        raise typer.Exit(2)
    out.print(f"config: {config_dir}: app.yml and categories.yml are valid "
              f"({len(categories)} categor{'y' if len(categories) == 1 else 'ies'})")
    for category in categories:  # the ids are the partition keys, file names and API paths
        out.print(f"  {category.id}  {escape(category.label)}")
    secrets = [env[v] for v in SECRET_ENV_VARS if env.get(v)]
    results = run_checks(cfg, env)
    for result in results:
        out.print(format_result(result, secrets))
    failed = [r.service for r in results if not r.ok]
    if failed:
        out.print(f"{len(failed)} of {len(results)} connection(s) failed: {', '.join(failed)}")
        raise typer.Exit(1)
    out.print(f"all {len(results)} connections OK")
