"""Every endpoint against a store filled by a run."""
from __future__ import annotations

import json
from urllib.parse import quote

import yaml

from plexrecs_assets.config import load_categories


def recs_url(label: str, raw: bool = False) -> str:
    return f"/v1/recs/{quote(label, safe='')}/latest" + ("/raw" if raw else "")


def test_health_reports_reachable_database_and_last_run(client, filled):
    body = client.get("/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert "path" not in body["database"]  # only with the API token (see test_health_privacy.py)
    assert body["last_run"]["status"] in ("success", "partial")
    assert body["last_run"]["finished_at"] >= body["last_run"]["started_at"]
    assert body["run_in_progress"] is False


def test_categories_lists_the_yaml_in_order(client, filled):
    body = client.get("/v1/categories").json()
    assert [c["label"] for c in body["categories"]] == filled.labels
    configured = load_categories(filled.config_dir)
    assert body["categories"][0]["type"] == configured[0].type
    assert any("—" in c["label"] for c in body["categories"])


def test_latest_run_has_a_row_per_category(client, filled):
    response = client.get("/v1/runs/latest")
    assert response.status_code == 200
    run = response.json()
    assert {c["label"] for c in run["categories"]} <= set(filled.labels)
    assert run["categories"], "the run recorded no category"
    assert run["status"] in ("success", "partial")
    assert run["dagster_run_ids"], "run_link was not read"
    successes = [c for c in run["categories"] if c["status"] == "success"]
    assert successes and all(c["resolved_json_path"] for c in successes)
    assert run["usage"] is None or run["usage"]["total_tokens"] == run["usage"]["prompt_tokens"] + run["usage"]["completion_tokens"]


def test_resolved_and_raw_recs_for_every_label_with_spaces_and_em_dashes(client, filled):
    served = 0
    for label in filled.labels:
        resolved = client.get(recs_url(label))
        raw = client.get(recs_url(label, raw=True))
        if resolved.status_code == 404:
            assert resolved.json()["error"]["code"] == "not_found"
            continue
        assert resolved.status_code == 200, resolved.text
        assert raw.status_code == 200, raw.text
        assert resolved.json()["category"] == label
        assert raw.json()["category"] == label
        assert all(isinstance(item["tmdb_id"], int) for item in resolved.json()["items"])
        served += 1
    assert served >= 2
    jinx = [label for label in filled.labels if "—" in label and " " in label]
    assert jinx and client.get(recs_url(jinx[0])).status_code == 200


def test_recs_are_the_files_recorded_by_the_latest_successful_run(client, filled):
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{filled.db_path}")
    with engine.connect() as conn:
        label, path = conn.execute(text(
            "SELECT label, resolved_json_path FROM category_run WHERE status='success' AND instr(label, char(31)) = 0 "
            "ORDER BY id DESC LIMIT 1")).one()
        # A person's list is stored under "label<US>user_key" and served under /v1/users.
        person = conn.execute(text(
            "SELECT t.user_key, t.category_id, c.resolved_json_path FROM category_run c "
            "JOIN category_run_target t ON t.category_run_id = c.id WHERE c.status='success' "
            "AND t.user_key != 'household' ORDER BY c.id DESC LIMIT 1")).one()
    engine.dispose()
    with open(path, encoding="utf-8") as fh:
        assert client.get(recs_url(label)).json() == json.load(fh)
    user_key, category_id, person_path = person
    with open(person_path, encoding="utf-8") as fh:
        assert client.get(f"/v1/users/{user_key}/recs/{category_id}/latest").json() == json.load(fh)


def test_recs_by_category_id_are_the_recs_by_label(client, filled):
    body = client.get("/v1/categories").json()
    ids = {c["label"]: c["id"] for c in body["categories"]}
    assert list(ids) == filled.labels
    served = 0
    for label, category_id in ids.items():
        by_label, by_id = client.get(recs_url(label)), client.get(f"/v1/categories/{category_id}/recs/latest")
        raw_by_id = client.get(f"/v1/categories/{category_id}/recs/latest/raw")
        assert by_id.status_code == by_label.status_code
        assert by_id.json() == by_label.json() and raw_by_id.json() == client.get(recs_url(label, raw=True)).json()
        served += by_id.status_code == 200
    assert served >= 2


def test_unknown_or_malformed_category_id(client):
    missing = client.get("/v1/categories/no-such-category/recs/latest")
    assert missing.status_code == 404 and "no-such-category" in missing.json()["error"]["message"]
    # A label is not an id: ids are [a-z0-9-]+ only.
    assert client.get(f"/v1/categories/{quote('True Crime', safe='')}/recs/latest").status_code == 422


def test_label_is_matched_case_insensitively(client, filled):
    label = filled.labels[0]
    assert client.get(recs_url(label.upper())).json() == client.get(recs_url(label)).json()


def test_unknown_label_is_404(client):
    response = client.get(recs_url("No Such Category"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "No Such Category" in response.json()["error"]["message"]


def test_pmm_collections_lists_the_kometa_files_with_their_id_counts(client, filled):
    files = client.get("/v1/pmm/collections").json()["collections"]
    assert files
    assert {e["media_type"] for e in files} == {"movie", "tv", "playlist"}
    for entry in files:
        doc = yaml.safe_load(open(entry["path"], encoding="utf-8"))
        if entry["media_type"] == "playlist":  # a person's library list, synced to that person only
            assert entry["user_key"] != "household"
            (playlist,) = doc["playlists"].values()
            assert entry["collection_names"] == list(doc["playlists"])
            assert entry["items"] == len(playlist.get("tmdb_movie", [])) + len(playlist.get("tmdb_show", []))
            assert playlist["sync_to_users"]
        else:
            assert entry["category"] in filled.labels and entry["user_key"] == "household"
            key = "tmdb_movie" if entry["media_type"] == "movie" else "tmdb_show"
            assert entry["items"] == sum(len(c.get(key, [])) for c in doc["collections"].values())
            assert entry["collection_names"] == list(doc["collections"])
        assert entry["modified_at"].endswith("Z")
        assert entry["path"].startswith(str(filled.pmm_out_dir.resolve()))


def test_openapi_has_a_response_model_for_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    expected = {
        ("get", "/v1/health"), ("get", "/v1/categories"), ("get", "/v1/runs/latest"),
        ("get", "/v1/recs/{label}/latest"), ("get", "/v1/recs/{label}/latest/raw"),
        ("get", "/v1/pmm/collections"), ("post", "/v1/run"),
        ("get", "/v1/categories/{category_id}/recs/latest"), ("get", "/v1/categories/{category_id}/recs/latest/raw"),
        ("get", "/v1/users"), ("get", "/v1/users/{user_key}/recs/{category_id}/latest"),
    }
    found = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    assert found == expected
    for method, path in expected:
        responses = schema["paths"][path][method]["responses"]
        assert "$ref" in responses["200"]["content"]["application/json"]["schema"]
        for status, spec in responses.items():
            if status.startswith(("4", "5")):
                assert spec["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
