"""Every external service failing in every way while a real run is under way.

The module shares one published baseline: each test breaks a service, runs again and checks
that the run ends cleanly naming the service, that nothing built on the failure is published,
and that what was published before is byte-for-byte intact.
"""
from __future__ import annotations

import pytest
import yaml

from reliability_helpers import FAULTS, LABELS, assert_untouched_except, chat_calls, parse_outputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(suite, module_workspace):
    ws = module_workspace(suite)
    summary = ws.run()
    assert summary.status == "success", summary.error
    return ws


def _assert_clean_failure(ws, summary, service: str) -> None:
    assert summary.status == "failed"
    assert summary.error and summary.error.lower().startswith(f"{service}:"), summary.error
    job = ws.last_job()
    assert job["status"] == "failed" and job["finished_at"]
    assert job["error_msg"].lower().startswith(f"{service}:"), job["error_msg"]
    assert not ws.temp_files()


@pytest.mark.parametrize("service", ["tautulli", "plex"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_household_service_down_fails_before_the_llm_and_publishes_nothing(published, suite, service, fault):
    before = published.outputs()
    getattr(suite, service).set_faults(**FAULTS[fault])
    summary = published.run()
    _assert_clean_failure(published, summary, service)
    assert chat_calls(suite) == [], "the LLM was asked for recommendations without a history or inventory"
    assert published.outputs() == before
    assert all(c.status != "success" for c in summary.categories)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_tmdb_failing_for_good_fails_every_category_cleanly(published, suite, fault):
    before = published.outputs()
    published.expire_tmdb_lists()
    suite.tmdb.set_faults(**FAULTS[fault])
    summary = published.run()
    assert summary.status == "failed"
    assert "tmdb" in (summary.error or "").lower(), summary.error
    for category in summary.categories:
        assert category.status == "failed" and "tmdb" in category.error.lower(), category.error
    assert published.last_job()["status"] == "failed"
    assert_untouched_except(before, published.outputs(), replaced=set())
    assert not published.temp_files()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_llm_failing_for_good_fails_every_category_naming_the_llm(published, suite, fault):
    before = published.outputs()
    suite.llm.set_faults(**FAULTS[fault])
    summary = published.run()
    assert summary.status == "failed"
    assert summary.categories and {c.label for c in summary.categories} == set(LABELS)
    for category in summary.categories:
        assert category.status == "failed" and category.error.lower().startswith("llm:"), category.error
    assert "llm" in (summary.error or "").lower()
    assert_untouched_except(before, published.outputs(), replaced=set())
    assert not published.temp_files()


def test_llm_timeout_fails_categories_naming_the_llm(published, suite):
    published.edit_app(recommender={"timeout_s": 0.3})
    suite.llm.set_faults(latency_s=2.0)
    before = published.outputs()
    try:
        summary = published.run()
    finally:
        published.edit_app(recommender={"timeout_s": 120.0})
    assert summary.status == "failed"
    for category in summary.categories:
        assert category.status == "failed", category
        assert category.error.lower().startswith("llm: unreachable") and "timeout" in category.error.lower()
    assert_untouched_except(before, published.outputs(), replaced=set())


def test_llm_failing_for_one_category_leaves_the_others_publishing(published, suite):
    before = published.outputs()
    suite.llm.set_options(fail_labels=["Cozy"])
    summary = published.run()
    assert summary.status == "partial"
    by_label = {c.label: c for c in summary.categories}
    assert by_label["True Crime"].status == "success" and by_label["True Crime"].published == 5
    cozy = by_label["Cozy"]
    assert cozy.status == "failed" and "llm" in cozy.error.lower(), cozy.error
    job = published.last_job()
    assert job["status"] == "partial" and "1 of 2" in job["error_msg"]
    row = published.category_rows(job["id"])["Cozy"]
    assert row["status"] == "failed" and row["error_msg"] == cozy.error
    # Only True Crime's Kometa files (and the manifest) were rewritten; Cozy's JSON and YAML are intact.
    crime = by_label["True Crime"]
    replaced = {f"kometa/{p.rsplit('/', 1)[1]}" for p in crime.files if p.endswith(".yml")} | {
        "kometa/.plexrecs-manifest.json"}
    after = published.outputs()
    assert_untouched_except(before, after, replaced=replaced)
    new_resolved = [p for p in crime.files if p.endswith(".resolved.json")]
    assert new_resolved and all(str(published.data_dir) in p for p in new_resolved)
    parse_outputs(after)
    assert not published.temp_files()


def test_tokens_of_a_failed_category_are_recorded_and_summed(published, suite):
    suite.llm.set_options(fail_labels=["Cozy"])
    summary = published.run()
    cozy = {c.label: c for c in summary.categories}["Cozy"]
    assert cozy.status == "failed"
    job = published.last_job()
    rows = published.sql("select label, calls, prompt_tokens, completion_tokens from llm_usage where job_id = ?",
                         job["id"])
    cozy_rows = [r for r in rows if r["label"] == "Cozy"]
    # The first answer and the one repair attempt, both refused: spent, and on the bill.
    assert sum(r["calls"] for r in cozy_rows) == 2, [dict(r) for r in rows]
    spent = sum(r["prompt_tokens"] for r in cozy_rows)
    assert spent > 0 and cozy.prompt_tokens == spent
    assert cozy.completion_tokens == sum(r["completion_tokens"] for r in cozy_rows) > 0


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_overseerr_down_never_blocks_publishing_and_is_given_up_on(published, suite, fault):
    suite.overseerr.set_faults(**FAULTS[fault])
    summary = published.run()
    assert summary.status == "success", summary.error
    assert all(c.status == "success" and c.published == 5 for c in summary.categories)
    job_id = published.last_job()["id"]
    attempts = published.sql("select outcome, detail from overseerr_request where job_id = ?", job_id)
    # Requests are optional: once Overseerr is known to be down, the run stops asking (each
    # further item would wait out the whole retry budget again).
    assert len(attempts) == 1, [tuple(a) for a in attempts]
    outcome, detail = attempts[0]
    assert outcome == "failed" and detail.lower().startswith("overseerr:"), detail
    parse_outputs(published.outputs())


def test_transient_faults_on_every_service_end_in_success_or_a_named_failure(published, suite):
    for server in suite.servers.values():
        server.set_faults(rate_429=0.1, retry_after_s=0.05, rate_500=0.03, malformed_rate=0.03, seed=3)
    before = published.outputs()
    published.expire_tmdb_lists()
    summary = published.run()
    tmdb_statuses = [r["status"] for r in suite.tmdb.requests()]
    assert 429 in tmdb_statuses, "the faults never fired; the test did not exercise retries"
    assert summary.status in ("success", "partial", "failed")
    for category in summary.categories:
        if category.status == "success":
            assert category.published == 5
        else:  # all retries of one call drew a fault: allowed, but it must say which service
            assert any(name in category.error.lower() for name in ("tmdb", "llm")), category.error
    replaced = {f"kometa/{p.rsplit('/', 1)[1]}" for c in summary.categories if c.status == "success"
                for p in c.files if p.endswith(".yml")} | {"kometa/.plexrecs-manifest.json"}
    after = published.outputs()
    assert_untouched_except(before, after, replaced=replaced)
    parse_outputs(after)
    assert not published.temp_files()


@pytest.mark.parametrize("service", ["tautulli", "plex"])
def test_first_run_with_a_household_service_down_fails(make_workspace, suite, service):
    """No baseline: the other household asset still succeeds after the failing one, and must
    not turn the failed run into a success with zero categories."""
    ws = make_workspace(suite)
    getattr(suite, service).set_faults(bad_credentials=True)
    summary = ws.run()
    _assert_clean_failure(ws, summary, service)
    assert chat_calls(suite) == []
    assert ws.outputs() == {}
