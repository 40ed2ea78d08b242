"""Rich consoles for the CLI.

Rich wraps at 80 columns when its output is not a terminal (a pipe, a log file, CI, Docker
logs), so long paths and error messages would be cut into pieces that no longer grep or copy.
Off a terminal, lines are as long as they need to be, unless ``COLUMNS`` says otherwise.
"""
from __future__ import annotations

import os
import sys

from rich.console import Console

UNWRAPPED_WIDTH = 100_000


def console(*, stderr: bool = False, **options) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty and not os.environ.get("COLUMNS"):
        options.setdefault("width", UNWRAPPED_WIDTH)
    return Console(stderr=stderr, **options)
