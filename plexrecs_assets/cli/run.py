"""``plexrecs run``: materialize the graph once and print a summary table."""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from plexrecs_assets.cli import app
from plexrecs_assets.cli.consoles import console
from plexrecs_assets.config import ConfigError, config_dir_from_env, load_app_config
from plexrecs_assets.logging_setup import setup_logging

err = console(stderr=True)
out = console()


def print_summary(summary) -> None:
    if not summary.categories:
        # Nothing reached a category (bad key, service down, the household assets failed):
        # an empty table would hide the one thing worth reading.
        title = f"PlexRecs run {', '.join(map(str, summary.job_ids)) or '-'}: {summary.status}"
        out.print(f"{title}: no category ran. Reason: {summary.error or 'not recorded; see the log above'}",
                  highlight=False, markup=False)
        _print_problems(summary)
        return
    table = Table(title=f"PlexRecs run {', '.join(map(str, summary.job_ids)) or '-'}: {summary.status}")
    for col in ("category", "published", "dropped by reason", "sources", "tokens in/out", "status"):
        table.add_column(col, overflow="fold")
    for c in summary.categories:
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(c.dropped.items())) or "-"
        table.add_row(
            escape(c.label), str(c.published), dropped, _sources(c), f"{c.prompt_tokens}/{c.completion_tokens}"
            + (f" {c.model}" if c.model else ""),
            (c.status if c.status == "success" else f"{c.status}: {c.error}")
            + (f" (short: {c.short})" if c.short and c.status == "success" else ""),
        )
    out.print(table)
    for c in summary.categories:
        if c.kept or c.added or c.removed:
            out.print(f"[bold]{escape(c.label)}[/] rotation: kept {c.kept}, added {c.added}, removed {c.removed}",
                      highlight=False)
        if c.overseerr_requested:
            out.print(f"[bold]{escape(c.label)}[/] Overseerr requests: {', '.join(c.overseerr_requested)}", highlight=False)
    for c in summary.categories:
        out.print(f"[bold]{escape(c.label)}[/] files:", highlight=False)
        for path in c.files or ["(none)"]:
            out.print(f"  {path}", highlight=False, soft_wrap=True)
    for line in kometa_lines(summary.categories):
        out.print(line, highlight=False, soft_wrap=True)
    total_p = sum(c.prompt_tokens for c in summary.categories)
    total_c = sum(c.completion_tokens for c in summary.categories)
    out.print(f"LLM tokens: {total_p} prompt + {total_c} completion = {total_p + total_c}")
    _print_problems(summary)


def _print_problems(summary) -> None:
    """Warnings and the run's one-line error go to stderr, whether or not a category ran."""
    for warning in dict.fromkeys(summary.warnings):
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if summary.error and summary.status != "success":
        err.print(f"[bold red]error:[/] {escape(summary.error)}", highlight=False, soft_wrap=True)


# "tautulli: auth HTTP 401 at …": a ServiceError's message (clients/base.py).
SERVICE_FAILURE = re.compile(r"^(tautulli|plex|tmdb|llm|overseerr): (auth|unreachable|not_found|bad_response)\b")


def failed_services(summary) -> list[str]:
    """Services whose credentials or address the run's errors blame, in order of appearance."""
    found = []
    for message in [summary.error, *(c.error for c in summary.categories if c.status != "success")]:
        match = SERVICE_FAILURE.match(message or "")
        if match and match.group(1) not in found:
            found.append(match.group(1))
    return found


def print_fixes(config_dir: Path, services: list[str]) -> None:
    """What `plexrecs check` says about these services: its FAIL line and the fix."""
    import os

    from plexrecs_assets.cli.check import format_result, run_checks
    from plexrecs_assets.config import SECRET_ENV_VARS

    env = dict(os.environ)
    secrets = [env[v] for v in SECRET_ENV_VARS if env.get(v)]
    for result in run_checks(load_app_config(config_dir, env), env, only=set(services)):
        if not result.ok:
            err.print(format_result(result, secrets), highlight=False, soft_wrap=True)
    err.print("run `plexrecs check` to test every connection", highlight=False)


def kometa_lines(categories) -> list[str]:
    """What Kometa can show now: it collects only titles Plex holds, and none of the picks are
    owned unless they arrived since (or the category picks from the library)."""
    lines = []
    for c in categories:
        if not c.kometa:
            continue
        parts, to_arr = [], []
        for f in c.kometa:
            playlist = f["media_type"] == "playlist"  # a library-mode list: one file, movies and shows
            noun = "playlist titles" if playlist else "movies" if f["media_type"] == "movie" else "series"
            if f["state"] == "retired":
                parts.append(f"no {noun} ({'playlist' if playlist else 'collection'} retired: Kometa deletes it)")
            else:
                parts.append(f"{f['in_plex']} of {f['items']} {noun} in Plex")
            if f["add_missing"]:
                to_arr.append(f"{len(f['add_missing'])} {noun} to {'Radarr' if f['media_type'] == 'movie' else 'Sonarr'}")
        shown = sum(f["in_plex"] for f in c.kometa if f["state"] != "retired")
        line = f"Kometa {c.label}: {'; '.join(parts)}; Kometa can show {shown} now"
        if all(f["media_type"] == "playlist" for f in c.kometa):  # owned titles: nothing to add
            lines.append(line)
            continue
        lines.append(line + (f"; add_missing: {', '.join(to_arr)}" if to_arr else "; suggest-only (no add_missing)"))
    return lines


def _sources(c) -> str:
    from pathlib import Path as _P

    from plexrecs_assets.documents import DocumentError, ResolvedRecs, read_document
    path = next((f for f in c.files if f.endswith(".resolved.json")), None)
    if not path or not _P(path).exists():
        return "-"
    try:
        sources = read_document(path, ResolvedRecs).sources or {}
    except DocumentError:
        return "-"
    return ", ".join(f"{k}={v}" for k, v in sorted(sources.items())) or "-"


STEPS = 11  # six assets and five asset checks


def _run_with_progress(config_dir: Path, categories: list[str] | None, as_of: str | None = None,
                       users: list[str] | None = None):
    """A progress bar on a terminal; one line per finished step otherwise (logs, CI)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plexrecs_assets.runner import run_once

    if not sys.stderr.isatty():
        def report(kind: str, step: str, elapsed: float) -> None:
            if kind != "start":
                err.print(f"{'done' if kind == 'success' else 'FAILED'}: {step} ({elapsed:.1f} s)", highlight=False)
        err.print("Running PlexRecs …")
        return run_once(config_dir, categories=categories, on_step=report, as_of=as_of, users=users)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        task = progress.add_task("starting …", total=STEPS)

        def update(kind: str, step: str, elapsed: float) -> None:
            if kind == "start":
                progress.update(task, description=f"{step} …")
            else:
                progress.advance(task)
                mark = "[green]✓[/]" if kind == "success" else "[red]✗[/]"
                progress.console.print(f"{mark} {step} ({elapsed:.1f} s)")

        summary = run_once(config_dir, categories=categories, on_step=update, as_of=as_of, users=users)
        progress.update(task, description="finished", completed=STEPS)
        return summary


@app.command()
def run(
    config_dir: Optional[Path] = typer.Option(None, "--config-dir", help="Folder with app.yml and categories.yml (default: $PLEXRECS_CONFIG_DIR or /config)."),
    category: Optional[list[str]] = typer.Option(None, "--category", help="Run only this category, by label or id (repeatable)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Run as if it were this day (YYYY-MM-DD): the 'now' of "
                                        "the 60-day rule, rotation ages and recommendation timestamps."),
    user: Optional[list[str]] = typer.Option(None, "--user", help="Run only this person's lists, by user key or Plex "
                                             "username (repeatable); 'household' is the household's lists."),
) -> None:
    """Run the whole pipeline once (oneshot) and print a summary. Exits 1 if any category failed."""
    from plexrecs_assets.store.runs import RunLockedError
    from plexrecs_assets.runner import MissingSecretsError, UnknownCategoryError, UnknownUserError, parse_as_of

    config_dir = config_dir or config_dir_from_env()
    try:
        as_of = parse_as_of(as_of)
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2)
    try:
        settings = load_app_config(config_dir).app
        setup_logging(settings.log_level, settings.log_format, console=err if sys.stderr.isatty() else None)
        summary = _run_with_progress(config_dir, category or None, as_of, user or None)
    except ConfigError as exc:
        err.print(f"[bold red]config error:[/] {exc}")
        raise typer.Exit(2)
    except (UnknownCategoryError, UnknownUserError, RunLockedError, MissingSecretsError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2)
    print_summary(summary)
    if not summary.ok and (services := failed_services(summary)):
        print_fixes(config_dir, services)
    raise typer.Exit(0 if summary.ok else 1)
