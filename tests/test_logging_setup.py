"""Structured logs: JSON lines at the configured level, secrets masked on every path."""
from __future__ import annotations

import io
import json
import logging

import pytest

from plexrecs_assets.logging_setup import OWN_LOGGERS, setup_logging


@pytest.fixture
def capture():
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    yield stream
    for handler in list(root.handlers):
        if handler not in before[0]:
            root.removeHandler(handler)
    root.setLevel(before[1])
    for name in OWN_LOGGERS:  # other tests' caplog expects the defaults back
        logging.getLogger(name).setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_level_filter_and_extras(capture):
    setup_logging("info", "json", stream=capture, secrets=[])
    log = logging.getLogger("plexrecs.test")
    log.debug("not shown")
    log.info("fetched %d items", 3, extra={"category": "Cozy"})
    [entry] = lines(capture)
    assert entry["level"] == "info" and entry["logger"] == "plexrecs.test"
    assert entry["msg"] == "fetched 3 items" and entry["category"] == "Cozy"


def test_secret_values_and_credential_parameters_are_masked(capture, monkeypatch):
    monkeypatch.setenv("TMDB_API_KEY", "tmdb-secret-1234")
    setup_logging("info", "json", stream=capture)  # secrets from the environment
    log = logging.getLogger("plexrecs.test")
    log.info("GET http://t:8181/api/v2?apikey=abc123&cmd=get_history key %s", "tmdb-secret-1234")
    log.warning("tmdb %s", "https://api.themoviedb.org/3/search?api_key=k9&query=x",
                extra={"url": "http://plex:32400/?X-Plex-Token=plextok"})
    try:
        raise RuntimeError("rejected Authorization: Bearer sk-live-abcdef and emu-llm-key")
    except RuntimeError:
        log.exception("llm failed")
    text = capture.getvalue()
    for secret in ("tmdb-secret-1234", "abc123", "k9&", "plextok", "sk-live-abcdef", "emu-llm-key"):
        assert secret not in text, secret
    first, second, third = lines(capture)
    assert "apikey=***&cmd=get_history" in first["msg"] and first["msg"].endswith("key ***")
    assert "api_key=***&query=x" in second["msg"] and second["url"].endswith("X-Plex-Token=***")
    assert "Traceback" in third["exc"] and "Bearer ***" in third["exc"]


def test_library_chatter_stays_below_warning_but_our_info_shows(capture):
    setup_logging("info", "text", stream=capture, secrets=[])
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("httpx").info("HTTP Request: GET http://x")
    logging.getLogger("plexrecs.clients").info("ours")
    logging.getLogger("alembic.runtime.migration").warning("library warning")
    text = capture.getvalue()
    assert "SQLiteImpl" not in text and "HTTP Request" not in text
    assert "ours" in text and "library warning" in text


def test_calling_twice_replaces_the_handler(capture):
    setup_logging("info", "json", stream=capture, secrets=[])
    setup_logging("warning", "json", stream=capture, secrets=[])
    logging.getLogger("plexrecs.test").warning("once")
    logging.getLogger("plexrecs.test").info("filtered")
    assert [e["msg"] for e in lines(capture)] == ["once"]


def test_bad_level_or_format_is_rejected():
    with pytest.raises(ValueError, match="log level 'loud'"):
        setup_logging("loud", "json")
    with pytest.raises(ValueError, match="log format 'xml'"):
        setup_logging("info", "xml")
