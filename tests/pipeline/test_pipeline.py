"""The whole graph materialized in-process against the emulators (issue: pipeline)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml

from plexrecs_assets.keys import default_category_id
from plexrecs_assets.config import load_categories
from plexrecs_assets.publish.kometa_files import collection_title, validate_collection_text
from plexrecs_assets.runner import run_once
from plexrecs_emulators.world.loader import load_world

SPEC_LABELS = ["True Crime", "Because — The Jinx", "Cozy", "DP Favorites — Crime Seeds"]


def _db(tmp: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp / "data" / "plexrecs.sqlite")
    conn.row_factory = sqlite3.Row
    return conn


def _published(summary) -> dict[str, list[dict]]:
    out = {}
    for c in summary.categories:
        path = next(f for f in c.files if f.endswith(".resolved.json"))
        out[c.label] = json.loads(Path(path).read_text(encoding="utf-8"))["items"]
    return out


def test_two_runs_publish_everything_and_never_repeat(demo_env, demo_suite):
    first = run_once(demo_env / "config", users=["household"])
    assert first.status == "success", first.error
    assert [c.label for c in first.categories] == SPEC_LABELS
    items_1 = _published(first)

    world_owned = {(i.medium, i.tmdb_id) for i in load_world().inventory if i.tmdb_id}
    conn = _db(demo_env)
    owned = {(r["media_type"], r["tmdb_id"]) for r in conn.execute("select * from plex_inventory")}
    assert len(owned) > 1000
    assert owned == world_owned
    for label, items in items_1.items():
        assert len(items) == 20, label
        keys = [(i["medium"], i["tmdb_id"]) for i in items]
        assert len(set(keys)) == len(keys), f"duplicates in {label}"
        assert not set(keys) & owned, f"owned title published in {label}"
        for item in items:
            assert isinstance(item["tmdb_id"], int) and item["imdb_id"] and item["why"]
            assert item["source"] in ("llm", "llm_retry", "pool_fill")
            assert item["medium"] in ("movie", "tv")

    # Spec tables: job_run, category_run, recommendation_history updated.
    job = conn.execute("select * from job_run order by id desc limit 1").fetchone()
    assert job["status"] == "success" and job["finished_at"] and job["mode"] == "oneshot"
    cats = conn.execute("select * from category_run where job_id=?", (job["id"],)).fetchall()
    assert {c["label"] for c in cats} == set(SPEC_LABELS)
    for c in cats:
        assert c["status"] == "success" and c["error_msg"] is None
        for col in ("raw_json_path", "resolved_json_path", "pmm_movie_yaml_path", "pmm_tv_yaml_path"):
            assert Path(c[col]).is_file(), col
        raw = json.loads(Path(c["raw_json_path"]).read_text(encoding="utf-8"))
        assert raw["category"] == c["label"] and raw["generated_at"].endswith("Z") and raw["recommendations"]
        resolved = json.loads(Path(c["resolved_json_path"]).read_text(encoding="utf-8"))
        assert resolved["category"] == c["label"] and resolved["resolved_at"].endswith("Z")
        position = SPEC_LABELS.index(c["label"]) + 1
        for medium, col, builder, suffix in (("movie", "pmm_movie_yaml_path", "tmdb_movie", "Movies"),
                                             ("tv", "pmm_tv_yaml_path", "tmdb_show", "Series")):
            text = Path(c[col]).read_text(encoding="utf-8")
            validate_collection_text(text, medium)
            (name, definition), = yaml.safe_load(text)["collections"].items()
            assert name == collection_title(c["label"], medium) == f"Recommended — {c['label']} ({suffix})"
            picks = [i["tmdb_id"] for i in resolved["items"] if i["medium"] == medium]
            if picks:
                assert definition["sync_mode"] == "sync" and definition["summary"]
                assert definition["sort_title"] == f"!{position:02d}_{name}"
                assert definition[builder] == picks
            else:  # never an empty builder list: Kometa retires (deletes) the collection
                assert definition == {"schedule": "never", "delete_not_scheduled": True}
    summaries = [s for c in cats for s in [next(iter(yaml.safe_load(Path(c["pmm_movie_yaml_path"]).read_text(
        encoding="utf-8"))["collections"].values())).get("summary")] if s]
    assert summaries and len(set(summaries)) == len(summaries), "each category has its own summary"
    # The run summary says how many picks Plex holds (none: PlexRecs never publishes owned titles).
    for c in first.categories:
        assert [(k["media_type"], k["in_plex"]) for k in c.kometa] == [("movie", 0), ("tv", 0)]
    history_rows = conn.execute("select count(*) from recommendation_history").fetchone()[0]
    assert history_rows == sum(len(v) for v in items_1.values())
    usage = conn.execute("select sum(prompt_tokens), sum(completion_tokens) from llm_usage where job_id=?",
                         (job["id"],)).fetchone()
    assert usage[0] > 0 and usage[1] > 0
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"

    # Overseerr (enabled in the demo config, 2 per category): only titles it reports as
    # neither available nor requested are requested, and each request is recorded.
    requests = conn.execute("select * from overseerr_request where job_id=?", (job["id"],)).fetchall()
    created = [r for r in requests if r["outcome"] == "created"]
    assert len(created) == 2 * len(SPEC_LABELS)
    for r in created:
        assert (r["media_type"], r["tmdb_id"]) not in owned
        assert any(i["tmdb_id"] == r["tmdb_id"] for i in items_1[r["label"]])
    # ...and the run summary lists them per category.
    assert {c.label: sorted(c.overseerr_requested) for c in first.categories} == {
        label: sorted(f"{r['media_type']} {r['tmdb_id']}" for r in created if r["label"] == label)
        for label in SPEC_LABELS}

    # Second run, eight days later: every pick has aged out (rotation max_age_days: 7), and
    # the 60-day rule means no item of the first run comes back.
    import datetime as _dt
    later = (_dt.datetime.now(_dt.timezone.utc).date() + _dt.timedelta(days=8)).isoformat()
    second = run_once(demo_env / "config", as_of=later, users=["household"])
    assert second.status == "success", second.error
    items_2 = _published(second)
    for label in SPEC_LABELS:
        again = {(i["medium"], i["tmdb_id"]) for i in items_2[label]} & {(i["medium"], i["tmdb_id"]) for i in items_1[label]}
        assert not again, f"{label} repeated {again}"
        if len(items_2[label]) < 20:  # the demo world runs out of fresh true crime after a week: short, never padded
            c = next(c for c in second.categories if c.label == label)
            assert c.short and "only" in c.short, label
    # Kometa files are stable paths, replaced atomically by the second run; no temp files remain.
    assert not list((demo_env / "data").rglob("*.tmp"))


def test_llm_mistakes_never_published(demo_env, demo_suite):
    """Mistakes injected by the LLM emulator (wrong year, misspelling, wrong medium, made-up or
    owned titles, wrong ids) are rejected, never published under a wrong id."""
    demo_suite.llm.set_options(mistake_rate=0.6)
    try:
        summary = run_once(demo_env / "config", users=["household"])
    finally:
        demo_suite.llm.set_options(mistake_rate=0.15)
    assert summary.status == "success", summary.error
    world = load_world()
    injected = [m for a in demo_suite.llm.answers() for m in (a.get("mistakes") or [])]
    assert injected, "the emulator injected no mistakes; the test would prove nothing"
    for label, items in _published(summary).items():
        assert len(items) == 20, label
        for item in items:
            facts = world.get(item["medium"], item["tmdb_id"])
            assert facts is not None, f"made-up id published: {item}"
            assert facts.title == item["title"] and facts.year == item["year"]


def test_one_category_fails_while_others_publish(demo_env, demo_suite):
    ok = run_once(demo_env / "config", categories=["True Crime", "Because — The Jinx"])
    assert ok.status == "success", ok.error
    jinx = next(c for c in ok.categories if c.label == "Because — The Jinx")
    yaml_paths = [f for f in jinx.files if f.endswith(".yml")]
    before = {p: Path(p).read_bytes() for p in yaml_paths}

    demo_suite.llm.set_options(fail_labels=["Because — The Jinx"])
    try:
        # Eight days on, so the picks have aged out and the LLM is asked (a full collection asks nothing).
        import datetime as _dt
        later = (_dt.datetime.now(_dt.timezone.utc).date() + _dt.timedelta(days=8)).isoformat()
        partial = run_once(demo_env / "config", categories=["True Crime", "Because — The Jinx"], as_of=later)
    finally:
        demo_suite.llm.set_options(fail_labels=[])
    assert partial.status == "partial"
    by_label = {c.label: c for c in partial.categories}
    assert by_label["True Crime"].status == "success" and by_label["True Crime"].published >= 1
    failed = by_label["Because — The Jinx"]
    assert failed.status == "failed" and "invalid" in failed.error.lower()
    # The failed category's previously published Kometa files are untouched.
    assert {p: Path(p).read_bytes() for p in yaml_paths} == before
    conn = _db(demo_env)
    row = conn.execute("select status, error_msg from job_run order by id desc limit 1").fetchone()
    assert row["status"] == "partial" and "1 of 2" in row["error_msg"]


def test_categories_partition_definition_matches_yaml(demo_env):
    from plexrecs_assets.definitions import build_definitions

    defs = build_definitions()
    raw = defs.resolve_assets_def("raw_recs")
    ids = sorted((c.id for c in load_categories(demo_env / "config")),
                 key=lambda i: i.endswith("-for-you"))  # household ones first
    categories = raw.partitions_def.get_partitions_def_for_dimension("category")
    assert list(categories.get_partition_keys()) == ids  # partition keys are category ids, not labels
    job = defs.resolve_job_def("plexrecs_job")
    assert job.executor_def.name == "in_process"


def test_token_budget_stops_before_it_is_exceeded(demo_env):
    app_yml = demo_env / "config" / "app.yml"
    app_yml.write_text(app_yml.read_text(encoding="utf-8").replace(
        "grounding: pool", "grounding: pool\n  max_tokens_per_run: 500"), encoding="utf-8")
    summary = run_once(demo_env / "config", categories=["Cozy"])
    assert summary.status == "failed"
    (cozy,) = summary.categories
    assert cozy.status == "failed" and "max_tokens_per_run=500" in cozy.error and cozy.published == 0


def test_definitions_reread_categories_each_time(demo_env, monkeypatch):
    """A long-lived process (or a test session) sees categories.yml edits on the next build."""
    from plexrecs_assets.definitions import build_definitions

    def category_keys():
        partitions = build_definitions().resolve_assets_def("raw_recs").partitions_def
        return partitions.get_partitions_def_for_dimension("category").get_partition_keys()

    before = category_keys()
    (demo_env / "config" / "categories.yml").write_text(
        "categories:\n  - {label: \"Only this\", type: keyword, mood_keywords: [cozy]}\n", encoding="utf-8")
    after = category_keys()
    # the household categories first, then the per-person ones (categories.yml ships both)
    assert list(before) == [default_category_id(label) for label in SPEC_LABELS] + [
        "movies-for-you", "shows-for-you", "documentaries-for-you"]
    assert list(after) == [default_category_id("Only this")]
