"""The benchmark harness's own logic (no timings: those live in docs/performance.md)."""
from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/ is a repo folder run as `python -m benchmarks.run`, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import report  # noqa: E402
from benchmarks.harness import categories_file  # noqa: E402
from benchmarks.pipeline import repeated_requests  # noqa: E402
from plexrecs_assets.config import load_categories  # noqa: E402


def test_cloned_categories_have_unique_labels_and_load(tmp_path):
    categories_file(9, tmp_path / "categories.yml")
    labels = [c.label for c in load_categories(tmp_path)]
    assert len(labels) == len(set(labels)) == 9
    assert labels[:5] == ["True Crime", "Because — The Jinx", "Cozy", "DP Favorites — Crime Seeds", "True Crime 2"]
    assert labels[-1] == "True Crime 3"


def test_repeated_requests_count_same_method_path_and_query():
    log = [
        {"method": "GET", "path": "/3/search/movie", "query": {"query": "Heat", "year": "1995"}, "status": 429},
        {"method": "GET", "path": "/3/search/movie", "query": {"year": "1995", "query": "Heat"}, "status": 200},
        {"method": "GET", "path": "/3/search/movie", "query": {"query": "Heat"}, "status": 200},
        {"method": "GET", "path": "/3/movie/1", "query": {}, "status": 200},
        {"method": "GET", "path": "/3/movie/1", "query": {}, "status": 200},
        {"method": "GET", "path": "/3/movie/1", "query": {}, "status": 200},
    ]
    found = repeated_requests(log)
    assert found["repeated_keys"] == 2
    assert found["extra_requests"] == 3
    assert found["repeated_keys_answered"] == 1  # the search was only answered once, after a 429


def test_doc_table_is_replaced_between_markers_and_the_prose_kept(tmp_path, monkeypatch):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# P\nintro\n{report.START}\nold table\n{report.END}\nanalysis\n", encoding="utf-8")
    monkeypatch.setattr(report, "DOC", doc)
    results = {"machine": {"cpu_count": 2}, "benchmarks": {"cold": {
        "wall_s": 20.5, "tmdb_requests": 400, "tmdb_429": 0, "repeated_keys": 1, "extra_requests": 2,
        "met": False, "steps_s": {"raw_recs": 7.5}}}}
    report.write_doc(results)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# P\nintro\n") and text.endswith("analysis\n")
    assert "old table" not in text
    assert "| Cold run identical TMDb requests made more than once | 0 | 1 (2 extra requests) | **missed** |" in text
    assert "| `raw_recs` | 7.50 |" in text
    assert "on 2 cores" in text


def test_a_crashed_benchmark_is_reported_as_an_error_row():
    table = report.table({"benchmarks": {"api": {"error": "RuntimeError: serve exited", "met": False}}})
    assert "| api: the benchmark itself failed | — | `RuntimeError: serve exited` | **error** |" in table


def test_week_summary_needs_fifteen_items_and_all_on_topic_every_day():
    from benchmarks.week import summarize
    good = {"items": 20, "on_topic_share": 1.0, "exit_code": 0}
    assert summarize([good, {**good, "items": 15}])["met"] is True
    assert summarize([good, {**good, "items": 14}])["met"] is False
    assert summarize([good, {**good, "on_topic_share": 0.95}])["met"] is False
    assert summarize([])["met"] is False
    table = report.table({"benchmarks": {"week": {"days": [{**good, "day": "2026-12-01", "category": "Cozy",
                                                             "kept": 0, "added": 20, "removed": 0,
                                                             "tmdb_requests": 41, "short": None}],
                                                   "min_items": 20, "min_on_topic_share": 1.0, "met": True,
                                                   "target_min_items": 15}}})
    assert "| 2026-12-01 | Cozy | 20 | 100% | 0 / 20 / 0 | 41 |  |" in table
