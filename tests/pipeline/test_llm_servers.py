"""The pipeline against LLM servers that differ like real ones do (issue 12): servers without
json_schema or without any JSON mode, all categories in flight at once."""
from __future__ import annotations

import sqlite3

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
    summary = run_once(demo_env / "config")
    assert summary.status == "success", summary.error
    assert [c.label for c in summary.categories] == SPEC_LABELS
    conn = sqlite3.connect(demo_env / "data" / "plexrecs.sqlite")
    rows = conn.execute("select label, status, error_msg from category_run").fetchall()
    assert sorted(rows) == sorted((label, "success", None) for label in SPEC_LABELS)
    chats = [r for r in llm_server.requests() if r["path"] == "/v1/chat/completions"]
    assert [r["status"] for r in chats].count(200) >= len(SPEC_LABELS)
    assert {a["response_format"] for a in llm_server.answers() if a["call"] > calls_before} == {used}
