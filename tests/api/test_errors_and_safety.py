"""Error shape, path traversal, tampered rows, missing/broken stores and config reloads."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import api_storefill as storefill
from plexrecs_api.app import create_app
from plexrecs_assets.config import ConfigError
from plexrecs_assets.store.db import dispose_all, init_db


def recs_url(label: str, raw: bool = False) -> str:
    return f"/v1/recs/{quote(label, safe='')}/latest" + ("/raw" if raw else "")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def api(layout, **env) -> TestClient:
    return TestClient(create_app(layout.config_dir, env=env), raise_server_exceptions=False, base_url="http://127.0.0.1")


@pytest.mark.parametrize("path", [
    "/v1/recs/..%2F..%2Fetc%2Fpasswd/latest",
    "/v1/recs/..%2F..%2Fetc%2Fpasswd/latest/raw",
    "/v1/recs/%2Fetc%2Fpasswd/latest",
    "/v1/recs/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd%00/latest",
    "/v1/recs/True%20Crime%00/latest",
    "/v1/recs/%00/latest/raw",
    "/v1/recs/../../etc/passwd/latest",
    "/v1/recs/%2E%2E/latest",
    "/v1/recs/runs%2F000001%2Ftrue-crime.resolved.json/latest",
])
def test_path_traversal_in_label_is_404_and_never_reads_a_file(client, path):
    response = client.get(path)
    assert_error(response, 404, "not_found")
    assert "root:" not in response.text


def test_router_404_405_and_422_use_the_error_body(client):
    assert_error(client.get("/v1/nope"), 404, "not_found")
    assert_error(client.delete("/v1/health"), 405, "method_not_allowed")
    assert_error(client.get("/v1/run"), 405, "method_not_allowed")
    assert_error(client.post("/v1/run", json={"categories": "True Crime"}), 422, "validation_error")
    assert_error(client.post("/v1/run", json={"categories": []}), 422, "validation_error")
    assert_error(client.post("/v1/run", json={"labels": ["x"]}), 422, "validation_error")
    assert_error(client.post("/v1/run", content=b"{not json", headers={"content-type": "application/json"}), 422)


def test_unknown_category_in_run_request_is_400_before_contacting_dagster(tmp_path):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout, api={"dagster_url": "http://127.0.0.1:9"})
    with api(layout) as c:
        error = assert_error(c.post("/v1/run", json={"categories": ["True Crime", "Horror"]}), 400, "unknown_category")
    assert "'Horror'" in error["message"] and "'True Crime'" in error["message"]


def test_run_answers_503_when_dagster_is_unreachable(tmp_path):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout, api={"dagster_url": "http://127.0.0.1:9"})
    with api(layout) as c:
        error = assert_error(c.post("/v1/run", json={"categories": ["Cozy"]}), 503, "dagster_unavailable")
        assert "127.0.0.1:9" in error["message"]
        assert c.get("/v1/health").json()["run_in_progress"] is False  # the lock was released
        assert_error(c.post("/v1/run"), 503, "dagster_unavailable")


def test_latest_recs_skip_a_failed_latest_run(synthetic):
    with api(synthetic) as c:
        latest = c.get("/v1/runs/latest").json()
        assert latest["job_id"] == 2 and latest["status"] == "partial"
        cozy = next(x for x in latest["categories"] if x["label"] == "Cozy")
        assert cozy["status"] == "failed" and cozy["error_msg"] == "LLM answered garbage"
        crime = next(x for x in latest["categories"] if x["label"] == "True Crime")
        assert crime["usage"] == {"models": ["gpt-4o-mini"], "calls": 2, "prompt_tokens": 100,
                                  "completion_tokens": 50, "total_tokens": 150}
        assert latest["usage"]["calls"] == 4
        # Cozy's latest success is job 1; True Crime's is job 2.
        assert c.get(recs_url("Cozy")).json()["items"][0]["tmdb_id"] == 1020
        assert c.get(recs_url("True Crime")).json()["items"][0]["tmdb_id"] == 2000
        assert c.get(recs_url("Because — The Jinx", raw=True)).json()["recommendations"][0]["tmdb_id"] == 2010
        pmm = c.get("/v1/pmm/collections").json()["collections"]
        assert [(f["category"], f["job_id"], f["items"]) for f in pmm] == [
            ("True Crime", 2, 3), ("Because — The Jinx", 2, 3), ("Cozy", 1, 3)]


def test_a_row_pointing_outside_the_output_directory_is_never_read(synthetic, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"category": "True Crime", "resolved_at": "x", "items": []}), encoding="utf-8")
    engine = create_engine(f"sqlite:///{synthetic.db_path}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE category_run SET resolved_json_path=:p, pmm_movie_yaml_path=:y WHERE label='True Crime'"),
                     {"p": str(secret), "y": "/etc/passwd"})
        conn.execute(text("UPDATE category_run SET raw_json_path=:p WHERE label='Cozy'"),
                     {"p": str(synthetic.json_out_dir / ".." / ".." / "secret.json")})
    engine.dispose()
    with api(synthetic) as c:
        assert "outside" in assert_error(c.get(recs_url("True Crime")), 404, "not_found")["message"]
        assert_error(c.get(recs_url("Cozy", raw=True)), 404, "not_found")
        pmm = c.get("/v1/pmm/collections").json()["collections"]
        assert "True Crime" not in {f["category"] for f in pmm}
        assert all("/etc/" not in f["path"] for f in pmm)


def test_a_deleted_or_edited_output_file_is_noticed(synthetic):
    with api(synthetic) as c:
        first = c.get(recs_url("True Crime")).json()
        path = c.get("/v1/runs/latest").json()["categories"][0]["resolved_json_path"]
        doc = json.loads(open(path, encoding="utf-8").read())
        doc["items"] = doc["items"][:1]
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
        assert len(c.get(recs_url("True Crime")).json()["items"]) == 1 != len(first["items"])
        with open(path, "w", encoding="utf-8") as fh:
            fh.write('{"category": "True Crime", "items": "oops"}')
        error = assert_error(c.get(recs_url("True Crime")), 500, "invalid_output_file")
        assert path in error["message"]
        os.unlink(path)
        assert "no longer exists" in assert_error(c.get(recs_url("True Crime")), 404)["message"]


def test_new_runs_are_served_without_restart(synthetic):
    with api(synthetic) as c:
        assert c.get("/v1/runs/latest").json()["job_id"] == 2
        engine = create_engine(f"sqlite:///{synthetic.db_path}")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO job_run (id, started_at, mode, status) VALUES (3, '2025-10-09T03:00:00Z', 'loop', 'running')"))
        engine.dispose()
        assert c.get("/v1/runs/latest").json() == {
            "job_id": 3, "started_at": "2025-10-09T03:00:00Z", "finished_at": None, "mode": "loop", "status": "running",
            "error_msg": None, "categories": [], "usage": None, "dagster_run_ids": [], "pairs": []}
        assert c.get("/v1/health").json()["last_run"]["job_id"] == 3


def test_missing_database_degrades_health_and_404s_the_rest(tmp_path):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    with api(layout) as c:
        health = c.get("/v1/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["database"]["reachable"] is False
        assert health.json()["last_run"] is None
        assert_error(c.get("/v1/runs/latest"), 404, "not_found")
        assert_error(c.get(recs_url("Cozy")), 404, "not_found")
        assert c.get("/v1/pmm/collections").json() == {"collections": []}
        assert len(c.get("/v1/categories").json()["categories"]) == 3


@pytest.mark.parametrize("tables", ["none", "all"])
def test_a_store_without_runs_means_no_run_yet(tmp_path, tables):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    if tables == "all":
        init_db(layout.db_path)
    else:  # a WAL database the pipeline has not initialised yet
        layout.db_path.parent.mkdir(parents=True)
        conn = sqlite3.connect(layout.db_path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE unrelated (x)")
        conn.commit()
        conn.close()
    with api(layout) as c:
        health = c.get("/v1/health").json()
        assert health["database"]["reachable"] is True and health["last_run"] is None
        assert_error(c.get("/v1/runs/latest"), 404, "not_found")
        assert_error(c.get(recs_url("Cozy")), 404, "not_found")
        assert c.get("/v1/pmm/collections").json() == {"collections": []}
    dispose_all()


def test_unreadable_database_is_503_and_health_stays_200(tmp_path):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    layout.db_path.parent.mkdir(parents=True)
    layout.db_path.write_bytes(b"this is not a sqlite database, just some bytes" * 100)
    with api(layout) as c:
        health = c.get("/v1/health")
        assert health.status_code == 200 and health.json()["database"]["reachable"] is False
        assert health.json()["status"] == "degraded"
        assert_error(c.get("/v1/runs/latest"), 503, "database_unavailable")


def test_config_edits_are_picked_up_and_broken_edits_reported(synthetic):
    with api(synthetic) as c:
        assert len(c.get("/v1/categories").json()["categories"]) == 3
        categories = yaml.safe_load((synthetic.config_dir / "categories.yml").read_text(encoding="utf-8"))
        categories["categories"].append({"label": "Heists / Capers", "type": "keyword", "mood_keywords": ["heist"]})
        path = synthetic.config_dir / "categories.yml"
        path.write_text(yaml.safe_dump(categories, allow_unicode=True), encoding="utf-8")
        os.utime(path, ns=(10**9, 10**9))
        labels = [x["label"] for x in c.get("/v1/categories").json()["categories"]]
        assert labels[-1] == "Heists / Capers"
        assert_error(c.get(recs_url("Heists / Capers")), 404, "not_found")  # configured, never ran
        path.write_text("categories:\n  - label: Broken\n    type: nonsense\n", encoding="utf-8")
        health = c.get("/v1/health").json()
        assert health["status"] == "degraded" and health["config"]["valid"] is False
        assert "categories.yml" in health["config"]["error"] and "nonsense" not in health["config"]["error"]
        assert [x["label"] for x in c.get("/v1/categories").json()["categories"]] == labels


def test_invalid_config_fails_at_startup_naming_the_file(tmp_path):
    layout = storefill.Layout.under(tmp_path)
    storefill.write_config(layout)
    (layout.config_dir / "app.yml").write_text("api:\n  bind_addr: nowhere\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"app.yml[\s\S]*api.bind_addr"):
        create_app(layout.config_dir, env={})


def test_api_token_turns_on_bearer_auth(synthetic):
    with api(synthetic, API_TOKEN="s3cret-token") as c:
        error = assert_error(c.get("/v1/categories"), 401, "unauthorized")
        assert "s3cret-token" not in error["message"]
        assert c.get("/v1/categories").headers["www-authenticate"].startswith("Bearer")
        assert_error(c.get("/v1/categories", headers={"Authorization": "Bearer wrong"}), 401)
        assert_error(c.post("/v1/run", headers={"Authorization": "s3cret-token"}), 401)
        ok = c.get("/v1/categories", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and ok.json()["categories"]
        assert c.get("/v1/health").status_code == 200  # open for container health checks
        schema = c.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert schema["paths"]["/v1/runs/latest"]["get"]["security"] == [{"bearer": []}]
        assert "security" not in schema["paths"]["/v1/health"]["get"]
    with api(synthetic) as c:
        assert c.get("/v1/categories").status_code == 200
        assert "securitySchemes" not in c.get("/openapi.json").json().get("components", {})


def test_health_is_degraded_by_a_run_stuck_past_the_limit(synthetic):
    from datetime import datetime, timedelta, timezone

    with api(synthetic) as c:
        assert c.get("/v1/health").json()["stuck_runs"] == []
    three_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn = sqlite3.connect(synthetic.db_path)
    with conn:
        job_id = conn.execute("insert into job_run (started_at, mode, status) values (?, 'oneshot', 'running')",
                              (three_hours_ago,)).lastrowid
        conn.execute("insert into run_link (job_id, dagster_run_id) values (?, 'r-killed')", (job_id,))
    conn.close()
    with api(synthetic) as c:
        body = c.get("/v1/health").json()
    assert body["status"] == "degraded" and body["database"]["reachable"] and body["config"]["valid"]
    [stuck] = body["stuck_runs"]
    assert stuck["source"] == "plexrecs" and stuck["job_id"] == job_id and stuck["dagster_run_id"] == "r-killed"
    assert stuck["status"] == "running" and stuck["since"] == three_hours_ago
    assert 3 * 3600 <= stuck["for_s"] < 4 * 3600  # past the default api.stuck_run_after_s of 2 h


def test_dagster_runs_queued_or_started_past_the_limit_are_stuck(tmp_path, monkeypatch):
    import time
    import uuid

    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

    from plexrecs_api.stuck import DagsterRuns

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).resolve().parents[2] / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ids = {status: str(uuid.uuid4()) for status in ("STARTED", "STARTING", "SUCCESS")}
    with DagsterInstance.get() as instance:
        for status, run_id in ids.items():
            instance.add_run(DagsterRun(job_name="plexrecs_job", run_id=run_id, status=DagsterRunStatus[status]))
    runs = DagsterRuns(str(home))
    assert runs.stuck(7200) == []  # just created
    later = {r["dagster_run_id"]: r for r in runs.stuck(7200, now=time.time() + 3 * 3600)}
    assert set(later) == {ids["STARTED"], ids["STARTING"]}
    assert later[ids["STARTING"]]["status"] == "STARTING" and later[ids["STARTING"]]["for_s"] >= 3 * 3600
