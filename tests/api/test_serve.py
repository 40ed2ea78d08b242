"""``plexrecs serve`` on a real uvicorn over loopback: percent-encoded labels as a real HTTP
server decodes them, traversal attempts, API_TOKEN, and a readable error for bad config."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import httpx
import pytest

CLI = [sys.executable, "-c", "from plexrecs_assets.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(filled):
    procs = []

    def start(**env) -> str:
        port = free_port()
        proc = subprocess.Popen([*CLI, "serve", "--config-dir", str(filled.config_dir), "--host", "127.0.0.1", "--port", str(port)],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                return base
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError("plexrecs serve did not start")

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_serve_answers_encoded_labels_and_refuses_traversal(serve, filled):
    base = serve()
    jinx = next(label for label in filled.labels if "—" in label)
    response = httpx.get(f"{base}/v1/recs/{quote(jinx, safe='')}/latest")
    assert response.status_code == 200, response.text
    assert response.json()["category"] == jinx
    assert httpx.get(f"{base}/v1/recs/{quote(jinx, safe='')}/latest/raw").json()["category"] == jinx
    for evil in ("..%2F..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "%00", "..%2F..%2Fapp.yml", quote(jinx) + "%00"):
        answer = httpx.get(f"{base}/v1/recs/{evil}/latest")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        assert "root:" not in answer.text
    assert "server" not in {k.lower() for k in response.headers}


def test_serve_with_api_token(serve):
    base = serve(API_TOKEN="tok-123")
    assert httpx.get(f"{base}/v1/categories").status_code == 401
    assert httpx.get(f"{base}/v1/categories", headers={"Authorization": "Bearer tok-123"}).status_code == 200
    assert httpx.get(f"{base}/v1/health").status_code == 200


def test_serve_rejects_a_bad_config_with_a_readable_message(tmp_path):
    (tmp_path / "app.yml").write_text("api:\n  bind_addr: 8080\n", encoding="utf-8")
    (tmp_path / "categories.yml").write_text("categories:\n  - {label: A, type: keyword, mood_keywords: [x]}\n", encoding="utf-8")
    result = subprocess.run([*CLI, "serve", "--config-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "app.yml" in result.stderr and "api.bind_addr" in result.stderr and "Traceback" not in result.stderr
