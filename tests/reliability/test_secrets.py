"""Distinctive secrets through real runs (succeeding and failing), the CLI and the API: no
file, database page, Dagster event, log line or API response may contain one."""
from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from plexrecs_api.app import create_app
from plexrecs_emulators.suite import EmulatorSuite
from reliability_helpers import LABELS, reset_emulators

pytestmark = pytest.mark.slow

KEYS = {
    "tautulli": "tautulli-S3CRET-4f1e9c2a7b",
    "plex": "plex-S3CRET-8d2c0b5e1f",
    "tmdb": "tmdb-S3CRET-3a6f9e0c4d",
    "tmdb_bearer": "tmdbbearer-S3CRET-5b7d1a9f2e",
    "llm": "sk-llm-S3CRET-0e4c8b2d6a",
    "overseerr": "overseerr-S3CRET-7f3b5d9a1c",
}
API_TOKEN = "api-S3CRET-2c9e4a7f0b"
SECRETS = [*KEYS.values(), API_TOKEN]


def _leaks(name: str, data: bytes | str) -> list[str]:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return [f"{name}: {secret}" for secret in SECRETS if secret.encode() in raw]


def _scan_tree(root) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            found += _leaks(str(path), path.read_bytes())
    return found


@pytest.fixture(scope="module")
def secret_suite():
    with EmulatorSuite(keys=KEYS) as suite:
        yield suite


def test_secrets_never_reach_files_logs_or_api(make_workspace, secret_suite, caplog, capfd):
    suite = secret_suite
    reset_emulators(suite)
    caplog.set_level(logging.DEBUG)
    ws = make_workspace(suite)
    ws.edit_app(app={"log_level": "debug"})
    ws.env["API_TOKEN"] = API_TOKEN
    leaks: list[str] = []

    # 1. A CLI run that succeeds while Overseerr rejects the key (its errors are logged).
    suite.overseerr.set_faults(bad_credentials=True)
    proc = ws.plexrecs("run", "--config-dir", str(ws.config_dir))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out, err)
    assert "overseerr" in ws.sql("select detail from overseerr_request")[0]["detail"]
    leaks += _leaks("plexrecs run stdout", out) + _leaks("plexrecs run stderr", err)

    # 2. A CLI run that fails on Tautulli's error (the message carries the URL with its apikey).
    suite.overseerr.set_faults(bad_credentials=False)
    suite.tautulli.set_faults(bad_credentials=True)
    proc = ws.plexrecs("run", "--config-dir", str(ws.config_dir))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out, err)
    assert "tautulli: auth" in " ".join(err.split())
    leaks += _leaks("failing run stdout", out) + _leaks("failing run stderr", err)
    suite.tautulli.set_faults(bad_credentials=False)

    # 3. In-process runs failing on the LLM and on Plex credentials, with every log captured.
    suite.llm.set_faults(bad_credentials=True)
    assert ws.run().status == "failed"
    suite.llm.set_faults(bad_credentials=False)
    suite.plex.set_faults(bad_credentials=True)
    assert ws.run().status == "failed"
    suite.plex.set_faults(bad_credentials=False)
    captured = capfd.readouterr()
    leaks += _leaks("captured stdout", captured.out) + _leaks("captured stderr", captured.err)
    leaks += _leaks("python logging", "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records))
    assert ws.last_job()["error_msg"].startswith("plex: auth")
    assert any("llm" in r.getMessage() and "401" in r.getMessage() for r in caplog.records)

    # 4. The API, with bearer auth on, answering good and bad requests.
    client = TestClient(create_app(ws.config_dir, env={"API_TOKEN": API_TOKEN}), base_url="http://127.0.0.1")
    good = {"Authorization": f"Bearer {API_TOKEN}"}
    paths = ["/v1/health", "/v1/categories", "/v1/runs/latest", "/v1/pmm/collections", "/openapi.json",
             "/v1/recs/nope/latest", *(f"/v1/recs/{quote(label, safe='')}/latest" for label in LABELS),
             *(f"/v1/recs/{quote(label, safe='')}/latest/raw" for label in LABELS)]
    statuses = []
    for path in paths:
        for headers in (good, {"Authorization": "Bearer wrong"}, {}):
            answer = client.get(path, headers=headers)
            statuses.append(answer.status_code)
            leaks += _leaks(f"GET {path} {answer.status_code}", answer.content)
            leaks += _leaks(f"GET {path} headers", repr(dict(answer.headers)))
    assert 200 in statuses and 401 in statuses
    # POST /v1/run cannot reach a Dagster webserver here; its error must not carry secrets either.
    answer = client.post("/v1/run", headers=good, json={})
    leaks += _leaks(f"POST /v1/run {answer.status_code}", answer.content)

    # 5. Every byte written: store (and its WAL), JSON, Kometa YAML, config, Dagster storage and logs.
    leaks += _scan_tree(ws.root)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
    assert ws.sql("select count(*) from job_run")[0][0] == 4
