"""``plexrecs run``: materialize the graph once and print a summary table."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from plexrecs_assets.cli.consoles import console
from rich.table import Table

from plexrecs_assets.cli import app
from plexrecs_assets.core.config import ConfigError, config_dir_from_env, load_app_config
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
        return
    table = Table(title=f"PlexRecs run {', '.join(map(str, summary.job_ids)) or '-'}: {summary.status}")
    for col in ("category", "published", "dropped by reason", "sources", "tokens in/out", "status"):
        table.add_column(col, overflow="fold")
    for c in summary.categories:
        dropped = ", ".join(f"{k}={v}" for k, v in sorted(c.dropped.items())) or "-"
        table.add_row(
            c.label, str(c.published), dropped, _sources(c), f"{c.prompt_tokens}/{c.completion_tokens}"
            + (f" {c.model}" if c.model else ""),
            c.status if c.status == "success" else f"{c.status}: {c.error}",
        )
    out.print(table)
    for c in summary.categories:
        out.print(f"[bold]{c.label}[/] files:", highlight=False)
        for path in c.files or ["(none)"]:
            out.print(f"  {path}", highlight=False, soft_wrap=True)
    total_p = sum(c.prompt_tokens for c in summary.categories)
    total_c = sum(c.completion_tokens for c in summary.categories)
    out.print(f"LLM tokens: {total_p} prompt + {total_c} completion = {total_p + total_c}")
    if summary.error and summary.status != "success":
        err.print(f"[bold red]error:[/] {summary.error}")


def _sources(c) -> str:
    import json
    from pathlib import Path as _P
    path = next((f for f in c.files if f.endswith(".resolved.json")), None)
    if not path or not _P(path).exists():
        return "-"
    try:
        sources = json.loads(_P(path).read_text(encoding="utf-8")).get("sources", {})
    except ValueError:
        return "-"
    return ", ".join(f"{k}={v}" for k, v in sorted(sources.items())) or "-"


STEPS = 10  # six assets and four asset checks


def _run_with_progress(config_dir: Path, categories: list[str] | None):
    """A progress bar on a terminal; one line per finished step otherwise (logs, CI)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plexrecs_assets.runner import run_once

    if not sys.stderr.isatty():
        def report(kind: str, step: str, elapsed: float) -> None:
            if kind != "start":
                err.print(f"{'done' if kind == 'success' else 'FAILED'}: {step} ({elapsed:.1f} s)", highlight=False)
        err.print("Running PlexRecs …")
        return run_once(config_dir, categories=categories, on_step=report)
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

        summary = run_once(config_dir, categories=categories, on_step=update)
        progress.update(task, description="finished", completed=STEPS)
        return summary


@app.command()
def run(
    config_dir: Optional[Path] = typer.Option(None, "--config-dir", help="Folder with app.yml and categories.yml (default: $PLEXRECS_CONFIG_DIR or /config)."),
    category: Optional[list[str]] = typer.Option(None, "--category", help="Run only this category label (repeatable)."),
) -> None:
    """Run the whole pipeline once (oneshot) and print a summary. Exits 1 if any category failed."""
    from plexrecs_assets.pipeline.runs import RunLockedError
    from plexrecs_assets.runner import MissingSecretsError, UnknownCategoryError, run_once

    config_dir = config_dir or config_dir_from_env()
    try:
        settings = load_app_config(config_dir).app
        setup_logging(settings.log_level, settings.log_format, console=err if sys.stderr.isatty() else None)
        summary = _run_with_progress(config_dir, category or None)
    except ConfigError as exc:
        err.print(f"[bold red]config error:[/] {exc}")
        raise typer.Exit(2)
    except (UnknownCategoryError, RunLockedError, MissingSecretsError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2)
    print_summary(summary)
    raise typer.Exit(0 if summary.ok else 1)
