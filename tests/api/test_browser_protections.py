"""What a hostile web page can make a visitor's browser do to the API (it has no auth by
default): form posts, foreign origins, DNS rebinding (a foreign Host), oversized bodies.

``dagster_url`` points at a recording HTTP server on loopback standing in for
dagster-webserver, so "no run starts" means: nothing reached it and the store has no job_run row.
"""
from __future__ import annotations

import http.server
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import api_storefill as storefill
from plexrecs_api.app import create_app
from plexrecs_api.guard import MAX_BODY_BYTES, host_allowed, origin_allowed


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self):
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(503)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_dagster():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def guarded(tmp_path, fake_dagster):
    url, seen = fake_dagster
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout, api={"dagster_url": url, "allowed_hosts": ["recs.example.org"]})
    storefill.fill(layout)
    with TestClient(create_app(layout.config_dir, env={}), raise_server_exceptions=False,
                    base_url="http://127.0.0.1:8080") as client:
        yield client, layout, seen


def job_runs(layout) -> int:
    engine = create_engine(f"sqlite:///{layout.db_path}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM job_run")).scalar_one()
    finally:
        engine.dispose()


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]["code"]


FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("headers, status, code", [
    ({**FORM, "origin": "https://evil.example"}, 403, "origin_not_allowed"),
    ({"content-type": "application/json", "origin": "https://evil.example"}, 403, "origin_not_allowed"),
    ({"content-type": "application/json", "origin": "null"}, 403, "origin_not_allowed"),
    ({**FORM, "host": "evil.example"}, 400, "host_not_allowed"),
    ({"content-type": "application/json", "host": "evil.example:8080"}, 400, "host_not_allowed"),
    (FORM, 415, "unsupported_media_type"),
    ({"content-type": "text/plain"}, 415, "unsupported_media_type"),
    ({"content-type": "multipart/form-data; boundary=x"}, 415, "unsupported_media_type"),
])
def test_a_hostile_post_to_run_is_refused_and_starts_nothing(guarded, headers, status, code):
    client, layout, seen = guarded
    before = job_runs(layout)
    body = "categories=Cozy" if headers.get("content-type", "").startswith("application/x-www") else '{"categories": ["Cozy"]}'
    response = client.post("/v1/run", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert seen == [], "the request reached Dagster"
    assert job_runs(layout) == before
    assert client.get("/v1/health").json()["run_in_progress"] is False


def test_a_plain_json_post_from_a_script_still_reaches_dagster(guarded):
    client, _layout, seen = guarded
    response = client.post("/v1/run", json={"categories": ["Cozy"]})
    assert error_code(response) == "dagster_unavailable"  # the recorder answers 503: it got there
    assert seen, "a legitimate request never reached Dagster"


def test_an_empty_post_needs_no_content_type(guarded):
    client, _layout, seen = guarded
    assert error_code(client.post("/v1/run")) == "dagster_unavailable"
    assert seen


def test_same_origin_and_listed_origins_may_post(guarded):
    client, _layout, seen = guarded
    for origin in ("http://127.0.0.1:8080", "https://recs.example.org"):
        response = client.post("/v1/run", json={"categories": ["Cozy"]}, headers={"origin": origin})
        assert error_code(response) == "dagster_unavailable", origin
    assert len([s for s in seen if s.startswith("POST")]) >= 2


def test_dns_rebinding_cannot_read_answers(guarded):
    client, _layout, _seen = guarded
    for path in ("/v1/health", "/v1/categories", "/v1/runs/latest", "/openapi.json"):
        response = client.get(path, headers={"host": "evil.example"})
        assert response.status_code == 400 and error_code(response) == "host_not_allowed", path
        assert "Cozy" not in response.text
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "recs.example.org", "RECS.example.org."):
        assert client.get("/v1/categories", headers={"host": host}).status_code == 200, host


def test_allowed_hosts_edit_applies_without_restart(guarded):
    client, layout, _seen = guarded
    assert client.get("/v1/categories", headers={"host": "plexrecs.lan"}).status_code == 400
    storefill.write_config(layout, api={"allowed_hosts": ["plexrecs.lan"]})
    assert client.get("/v1/categories", headers={"host": "plexrecs.lan"}).status_code == 200


def test_bodies_over_one_megabyte_are_413_also_when_chunked(guarded):
    client, _layout, seen = guarded
    big = b'{"categories": ["' + b"x" * MAX_BODY_BYTES + b'"]}'
    response = client.post("/v1/run", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and error_code(response) == "payload_too_large"

    def chunks():  # no Content-Length: httpx sends Transfer-Encoding: chunked
        yield b'{"categories": ["'
        for _ in range(20):
            yield b"y" * (64 * 1024)
        yield b'"]}'

    response = client.post("/v1/run", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and error_code(response) == "payload_too_large"
    assert seen == []
    # Just under the limit is read and validated as usual.
    ok = b'{"categories": ["' + b"z" * 1000 + b'"]}'
    assert error_code(client.post("/v1/run", content=ok, headers={"content-type": "application/json"})) == "unknown_category"


def test_token_does_not_bypass_the_browser_checks(tmp_path, fake_dagster):
    url, seen = fake_dagster
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout, api={"dagster_url": url})
    with TestClient(create_app(layout.config_dir, env={"API_TOKEN": "tok-123456"}), raise_server_exceptions=False,
                    base_url="http://127.0.0.1:8080") as client:
        response = client.post("/v1/run", content="categories=Cozy",
                               headers={**FORM, "authorization": "Bearer tok-123456", "origin": "https://evil.example"})
        assert response.status_code == 403
    assert seen == []


@pytest.mark.parametrize("host, bind, allowed, expected", [
    ("localhost", "0.0.0.0", [], True),
    ("app.localhost:8080", "127.0.0.1", [], True),
    ("127.0.0.5:8080", "127.0.0.1", [], True),
    ("[::1]", "127.0.0.1", [], True),
    ("192.168.1.5:8080", "0.0.0.0", [], True),   # bound to all interfaces: any address of the machine
    ("192.168.1.5:8080", "127.0.0.1", [], False),
    ("192.168.1.5", "192.168.1.5", [], True),
    ("nas.lan:8080", "nas.lan", [], True),
    ("evil.example", "0.0.0.0", [], False),
    ("evil.example", "0.0.0.0", ["plexrecs.lan"], False),
    ("a.example.org", "0.0.0.0", [".example.org"], True),
    ("example.org", "0.0.0.0", [".example.org"], True),
    ("badexample.org", "0.0.0.0", [".example.org"], False),
    ("anything", "127.0.0.1", ["*"], True),
    ("", "127.0.0.1", [], False),
])
def test_host_allow_list(host, bind, allowed, expected):
    assert host_allowed(host, bind, allowed) is expected


@pytest.mark.parametrize("origin, host, allowed, expected", [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", [], True),
    ("http://127.0.0.1:3000", "127.0.0.1:8080", [], False),
    ("https://evil.example", "127.0.0.1:8080", [], False),
    ("null", "127.0.0.1:8080", [], False),
    ("https://dash.lan", "127.0.0.1:8080", ["dash.lan"], True),
    ("https://evil.example", "127.0.0.1:8080", ["*"], False),
])
def test_origin_rule(origin, host, allowed, expected):
    assert origin_allowed(origin, host, allowed) is expected


@pytest.mark.parametrize("bind, token, warns", [
    ("0.0.0.0", None, True), ("192.168.1.5", None, True), ("::", None, True), ("nas.lan", None, True),
    ("0.0.0.0", "tok-123456", False), ("127.0.0.1", None, False), ("::1", None, False), ("localhost", None, False),
])
def test_exposure_warning(bind, token, warns):
    from plexrecs_assets.cli.serve import exposure_warning

    assert (exposure_warning(bind, token) is not None) is warns


def test_serve_warns_at_start_when_listening_beyond_loopback_without_token(tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from plexrecs_assets.cli import app

    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout, api={"bind_addr": "0.0.0.0:8080"})
    calls = []
    # Stand-in for the server loop only: a test must not listen beyond loopback.
    monkeypatch.setattr(uvicorn, "run", lambda api, **kw: calls.append(kw))
    monkeypatch.delenv("API_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", "--config-dir", str(layout.config_dir)])
    assert result.exit_code == 0, result.output
    assert calls and calls[0]["host"] == "0.0.0.0"
    assert "beyond loopback" in result.output and "API_TOKEN" in result.output
    monkeypatch.setenv("API_TOKEN", "tok-123456")
    result = CliRunner().invoke(app, ["serve", "--config-dir", str(layout.config_dir)])
    assert "beyond loopback" not in result.output


@pytest.mark.parametrize("headers, status", [({**FORM, "origin": "https://evil.example"}, 403), (FORM, 415),
                                             ({"content-type": "text/plain", "host": "evil.example"}, 400)])
def test_an_empty_form_post_is_refused_too(guarded, headers, status):
    # <form method=post action=".../v1/run"> with no fields: before, it ran every category.
    client, layout, seen = guarded
    before = job_runs(layout)
    response = client.post("/v1/run", content=b"", headers=headers)
    assert response.status_code == status, response.text
    assert seen == [] and job_runs(layout) == before
