"""Logging for the CLI: structured JSON lines (or plain text) at ``app.log_level``, a readable
rich console on a terminal, and secrets redacted on every path.

Redaction happens in a handler filter, so records propagated from any library (httpx logs
every request URL, and Tautulli/TMDb put the key in the query string) are cleaned before any
formatter sees them.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import IO, Iterable

from plexrecs_assets.config import SECRET_ENV_VARS, redact_url_password

MASK = "***"
# Credentials that travel in URLs or headers, whatever the secret's value is.
_SECRET_PATTERNS = (
    re.compile(r"((?:^|[?&;\s\"'])(?:apikey|api_key|x-plex-token)=)[^&#\s\"',;]+", re.IGNORECASE),
    re.compile(r"((?:authorization|x-api-key|x-plex-token)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)[^\s\"',;]+",
               re.IGNORECASE),
)
_MIN_SECRET_LEN = 4  # shorter "secrets" (e.g. "x") would mangle ordinary words
_HANDLER_MARK = "_plexrecs_handler"
# LogRecord attributes that are not user-supplied ``extra=`` fields.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
OWN_LOGGERS = ("plexrecs", "plexrecs_api", "plexrecs_assets")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def known_secrets(env: dict[str, str] | None = None) -> list[str]:
    """Secret values to mask: the secret env vars that are set, plus the emulators' keys."""
    from plexrecs_assets.demo import EMULATOR_KEYS

    env = dict(os.environ) if env is None else env
    values = [env[name] for name in SECRET_ENV_VARS if env.get(name)] + list(EMULATOR_KEYS.values())
    # Longest first, so a secret that contains another is masked whole.
    return sorted({v for v in values if len(v) >= _MIN_SECRET_LEN}, key=len, reverse=True)


class Redactor:
    def __init__(self, secrets: Iterable[str]):
        self.secrets = [s for s in secrets if s and len(s) >= _MIN_SECRET_LEN]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(rf"\1{MASK}", text)
        return redact_url_password(text)  # http://user:password@host


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's message, exception text and string extras with secrets masked."""

    def __init__(self, secrets: Iterable[str] | None = None):
        super().__init__()
        self.redact = Redactor(known_secrets() if secrets is None else secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-args: keep the raw template rather than drop the record
            message = str(record.msg)
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # Formatters would re-render the traceback from exc_info, unredacted, if it stayed.
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, any ``extra=`` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "json", *, stream: IO[str] | None = None, console=None,
                  secrets: Iterable[str] | None = None) -> logging.Handler:
    """Install one redacting handler on the root logger (replacing an earlier one of ours).

    ``fmt`` is ``app.log_format``: ``json`` or ``text``. On a terminal (or when a rich
    ``console`` is given) the output is rich, readable text instead of JSON lines.
    """
    if level.lower() not in LEVELS:
        raise ValueError(f"log level {level!r}: expected one of {', '.join(LEVELS)}")
    if fmt not in ("json", "text"):
        raise ValueError(f"log format {fmt!r}: expected json or text")
    numeric = LEVELS[level.lower()]
    stream = stream or sys.stderr
    handler: logging.Handler
    if console is not None or (stream is sys.stderr and _isatty(stream)):
        from rich.console import Console
        from rich.logging import RichHandler
        handler = RichHandler(console=console or Console(stderr=True), rich_tracebacks=False, show_path=False,
                              markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecretsFilter(secrets))
    setattr(handler, _HANDLER_MARK, True)
    handler.setLevel(numeric)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Libraries (alembic under Dagster's instance, httpx's per-request lines) chatter at INFO;
    # below debug only PlexRecs' own loggers speak at the configured level.
    root.setLevel(numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING))
    for ours in OWN_LOGGERS:
        logging.getLogger(ours).setLevel(numeric)
    return handler


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
