from __future__ import annotations

import json

import httpx
import pytest


def tmdb_get(http, suite, path="/genre/movie/list", **params):
    return http.get(f"{suite.tmdb.url}{path}", params={"api_key": suite.keys["tmdb"], **params})


def test_rate_429_answers_with_retry_after_in_the_services_format(suite, http):
    suite.tmdb.set_faults(rate_429=1.0, retry_after_s=0.25)
    r = tmdb_get(http, suite)
    assert r.status_code == 429 and r.headers["Retry-After"] == "0.25"
    assert r.json()["status_code"] == 25
    suite.llm.set_faults(rate_429=1.0, retry_after_s=2)
    r = http.post(f"{suite.llm.url}/chat/completions", json={})
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


def test_rate_500(suite, http):
    suite.tautulli.set_faults(rate_500=1.0)
    r = http.get(f"{suite.tautulli.url}/api/v2", params={"apikey": suite.keys["tautulli"], "cmd": "get_users"})
    assert r.status_code == 500
    assert r.json()["response"] == {"result": "error", "message": "Check the logs for errors", "data": {}}


def test_rates_between_zero_and_one_hit_some_requests(suite, http):
    suite.tmdb.set_faults(rate_500=0.5, seed=7)
    statuses = [tmdb_get(http, suite).status_code for _ in range(40)]
    assert 0 < statuses.count(500) < 40 and set(statuses) == {200, 500}


def test_malformed_bodies_are_200_and_not_json(suite, http):
    suite.plex.set_faults(malformed_rate=1.0)
    r = http.get(f"{suite.plex.url}/library/sections",
                 headers={"Accept": "application/json", "X-Plex-Token": suite.keys["plex"]})
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


def test_latency_makes_a_short_timeout_fire(suite):
    suite.overseerr.set_faults(latency_s=5)
    with httpx.Client(timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get(f"{suite.overseerr.url}/api/v1/status")


@pytest.mark.parametrize("service, expected_status", [
    ("tautulli", 400), ("plex", 401), ("tmdb", 401), ("llm", 401), ("overseerr", 403)])
def test_bad_credentials_reject_the_right_key_like_a_wrong_one(suite, http, service, expected_status):
    env = suite.env()
    requests = {
        "tautulli": lambda: http.get(f"{env['TAUTULLI_URL']}/api/v2",
                                     params={"apikey": env["TAUTULLI_API_KEY"], "cmd": "get_users"}),
        "plex": lambda: http.get(f"{env['PLEX_URL']}/library/sections", headers={"X-Plex-Token": env["PLEX_TOKEN"]}),
        "tmdb": lambda: http.get(f"{env['TMDB_API_BASE']}/genre/tv/list", params={"api_key": env["TMDB_API_KEY"]}),
        "llm": lambda: http.get(f"{env['LLM_API_BASE']}/models",
                                headers={"Authorization": f"Bearer {env['LLM_API_KEY']}"}),
        "overseerr": lambda: http.get(f"{env['OVERSEERR_URL']}/api/v1/auth/me",
                                      headers={"X-Api-Key": env["OVERSEERR_API_KEY"]}),
    }
    assert requests[service]().status_code == 200
    getattr(suite, service).set_faults(bad_credentials=True)
    assert requests[service]().status_code == expected_status


def test_public_routes_ignore_bad_credentials(suite, http):
    suite.plex.set_faults(bad_credentials=True)
    suite.overseerr.set_faults(bad_credentials=True)
    assert http.get(f"{suite.plex.url}/identity").status_code == 200
    assert http.get(f"{suite.overseerr.url}/api/v1/status").status_code == 200


def test_max_rps_answers_429_beyond_the_limit(suite, http):
    suite.tmdb.set_faults(max_rps=2)
    statuses = [tmdb_get(http, suite).status_code for _ in range(6)]
    assert statuses[:2] == [200, 200] and 429 in statuses


def test_faults_over_http_partial_update_and_validation(suite, http):
    r = http.put(f"{suite.tmdb.root_url}/__emulator/faults", json={"rate_429": 1.0})
    assert r.status_code == 200 and r.json()["rate_429"] == 1.0 and r.json()["retry_after_s"] == 1.0
    assert tmdb_get(http, suite).status_code == 429
    r = http.put(f"{suite.tmdb.url}/__emulator/faults", json={"rate_429": 0})  # also under the /3 prefix
    assert r.status_code == 200 and tmdb_get(http, suite).status_code == 200
    bad = http.put(f"{suite.tmdb.root_url}/__emulator/faults", json={"rate_429": 2})
    assert bad.status_code == 400 and "rate_429" in bad.json()["error"]
    bad = http.put(f"{suite.tmdb.root_url}/__emulator/faults", json={"latency": 1})
    assert bad.status_code == 400 and "latency" in bad.json()["error"]


def test_control_routes_need_no_credentials_even_with_bad_credentials(suite, http):
    suite.plex.set_faults(bad_credentials=True, rate_429=1.0)
    r = http.get(f"{suite.plex.root_url}/__emulator/faults")
    assert r.status_code == 200 and r.json()["bad_credentials"] is True


def test_request_log_has_no_secrets_and_can_be_cleared(suite, http):
    tmdb_get(http, suite, "/search/movie", query="host")
    tmdb_get(http, suite, "/movie/999999")
    log = http.get(f"{suite.tmdb.root_url}/__emulator/requests").json()
    assert log["count"] == 2
    assert [(e["method"], e["path"], e["status"]) for e in log["requests"]] == [
        ("GET", "/3/search/movie", 200), ("GET", "/3/movie/999999", 404)]
    assert log["requests"][0]["query"] == {"query": "host"}
    assert suite.keys["tmdb"] not in json.dumps(log)
    assert http.delete(f"{suite.tmdb.root_url}/__emulator/requests").status_code == 200
    assert suite.tmdb.requests() == []
