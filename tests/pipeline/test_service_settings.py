"""The pipeline against servers that differ like real ones do, and app.yml settings reaching them
(issue 12): LLM servers without json_schema or without any JSON mode with all categories in
flight at once, recommender.temperature, reasoning models, tmdb.language."""
from __future__ import annotations

import sqlite3

import httpx

import pytest
import yaml

from plexrecs_assets.runner import run_once

SPEC_LABELS = ["True Crime", "Because — The Jinx", "Cozy", "DP Favorites — Crime Seeds"]


def _edit_app_yml(config_dir, **sections):
    path = config_dir / "app.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in sections.items():
        doc.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture()
def llm_server(demo_suite):
    yield demo_suite.llm
    demo_suite.llm.set_options(structured_output="json_schema")
    demo_suite.llm.set_faults(latency_s=0.0)


@pytest.mark.parametrize("server_mode, used", [("none", "text"), ("json_object", "json_object"),
                                               ("json_schema", "json_schema")])
def test_every_category_succeeds_whatever_json_mode_the_server_has(demo_env, llm_server, server_mode, used):
    _edit_app_yml(demo_env / "config", recommender={"concurrency": 8}, overseerr={"enabled": False})
    llm_server.set_options(structured_output=server_mode)
    # the first answers arrive only after every category has sent its first request
    llm_server.set_faults(latency_s=0.3)
    llm_server.clear_requests()
    calls_before = max((a["call"] for a in llm_server.answers()), default=0)
    summary = run_once(demo_env / "config", users=["household"])
    assert summary.status == "success", summary.error
    assert [c.label for c in summary.categories] == SPEC_LABELS
    conn = sqlite3.connect(demo_env / "data" / "plexrecs.sqlite")
    rows = conn.execute("select label, status, error_msg from category_run").fetchall()
    assert sorted(rows) == sorted((label, "success", None) for label in SPEC_LABELS)
    chats = [r for r in llm_server.requests() if r["path"] == "/v1/chat/completions"]
    assert [r["status"] for r in chats].count(200) >= len(SPEC_LABELS)
    assert {a["response_format"] for a in llm_server.answers() if a["call"] > calls_before} == {used}


def _chat_params(llm_server, calls_before) -> set[tuple]:
    return {(a["model"], a["temperature"], a["max_tokens"], a["max_completion_tokens"])
            for a in llm_server.answers() if a["call"] > calls_before}


def test_the_configured_temperature_reaches_the_llm(demo_env, llm_server):
    _edit_app_yml(demo_env / "config", recommender={"temperature": 0.9}, overseerr={"enabled": False})
    calls_before = max((a["call"] for a in llm_server.answers()), default=0)
    summary = run_once(demo_env / "config", users=["household"])
    assert summary.status == "success", summary.error
    assert _chat_params(llm_server, calls_before) == {("gpt-4o-mini", 0.9, None, None)}


def test_a_reasoning_model_runs_with_a_temperature_configured(demo_env, llm_server):
    """o4-mini refuses any temperature but 1 (HTTP 400 unsupported_value): it is not sent."""
    _edit_app_yml(demo_env / "config", recommender={"model": "o4-mini", "temperature": 0.4},
                  overseerr={"enabled": False})
    llm_server.clear_requests()
    calls_before = max((a["call"] for a in llm_server.answers()), default=0)
    summary = run_once(demo_env / "config", users=["household"])
    assert summary.status == "success", summary.error
    assert all(c.status == "success" for c in summary.categories)
    assert _chat_params(llm_server, calls_before) == {("o4-mini", None, None, None)}
    assert {r["status"] for r in llm_server.requests() if r["path"] == "/v1/chat/completions"} == {200}


def test_the_definitions_hand_the_llm_and_tmdb_settings_to_the_resources(demo_env):
    _edit_app_yml(demo_env / "config", recommender={"model": "o3-mini", "temperature": 0.7, "max_output_tokens": 8000},
                  tmdb={"language": "fr-CA"})
    from plexrecs_assets.definitions import build_definitions

    resources = build_definitions().resources
    llm = resources["llm"]
    assert (llm.model, llm.temperature, llm.max_output_tokens) == ("o3-mini", 0.7, 8000)
    assert resources["tmdb"].language == "fr-CA"


def test_tmdb_language_is_sent_on_every_tmdb_request(demo_env, demo_suite):
    _edit_app_yml(demo_env / "config", tmdb={"language": "de-DE"}, overseerr={"enabled": False})
    demo_suite.tmdb.clear_requests()
    summary = run_once(demo_env / "config", users=["household"])
    assert summary.status == "success", summary.error
    log = httpx.get(f"{demo_suite.tmdb.root_url}/__emulator/requests", timeout=10).json()
    assert log["count"] > 0
    without = [r for r in log["requests"] if r["query"].get("language") != "de-DE"]
    assert without == []
