"""A password inside a service URL (http://user:pass@host) is never printed or logged."""
from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys

import pytest
import yaml

from plexrecs_assets.clients.base import ServiceError, redact_url
from plexrecs_assets.config import SECRET_ENV_VARS, URL_OVERRIDES, redact_url_password
from plexrecs_assets.demo import write_demo_config
from plexrecs_assets.logging_setup import setup_logging

PASSWORD = "hunter2-url-password"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


@pytest.mark.parametrize("text, expected", [
    (f"http://bob:{PASSWORD}@plex.lan:32400/library", "http://bob:***@plex.lan:32400/library"),
    (f"see https://u:{PASSWORD}@h/x and http://h2:8080/", "see https://u:***@h/x and http://h2:8080/"),
    ("http://host:8181/api", "http://host:8181/api"),
    ("http://token@host/", "http://token@host/"),  # no password part: nothing to hide
])
def test_redact_url_password(text, expected):
    assert redact_url_password(text) == expected


def test_service_errors_and_logs_hide_it():
    url = f"http://bob:{PASSWORD}@127.0.0.1:9/api/v2?apikey=abc"
    assert PASSWORD not in redact_url(url)
    assert PASSWORD not in str(ServiceError("tautulli", url, "unreachable", "connection refused"))
    stream = io.StringIO()
    handler = setup_logging("info", "text", stream=stream, secrets=[])
    try:
        logging.getLogger("plexrecs.test").warning("cannot reach %s", url)
    finally:
        logging.getLogger().removeHandler(handler)
    assert "bob:***@127.0.0.1" in stream.getvalue() and PASSWORD not in stream.getvalue()


def test_check_never_prints_it(tmp_path):
    port = closed_port()
    env = {"TAUTULLI_URL": "http://127.0.0.1:1", "PLEX_URL": "http://127.0.0.1:1", "TMDB_API_BASE": "http://127.0.0.1:1/3",
           "LLM_API_BASE": "http://127.0.0.1:1/v1", "OVERSEERR_URL": "http://127.0.0.1:1"}
    write_demo_config(tmp_path / "config", tmp_path, env)
    app_yml = tmp_path / "config" / "app.yml"
    settings = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
    for section, key in (("tautulli", "url"), ("plex", "url"), ("overseerr", "url")):
        settings[section][key] = f"http://admin:{PASSWORD}@127.0.0.1:{port}"
    app_yml.write_text(yaml.safe_dump(settings), encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS and k not in URL_OVERRIDES}
    keys = {"TAUTULLI_API_KEY": "k-123456", "PLEX_TOKEN": "k-123456", "TMDB_API_KEY": "k-123456",
            "LLM_API_KEY": "k-123456", "OVERSEERR_API_KEY": "k-123456"}
    result = subprocess.run([sys.executable, "-m", "plexrecs_assets.cli", "check", "--config-dir", str(tmp_path / "config")],
                            env={**base, **keys}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL tautulli" in result.stdout and f"admin:***@127.0.0.1:{port}" in result.stdout
    assert PASSWORD not in result.stdout and PASSWORD not in result.stderr
