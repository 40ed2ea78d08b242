"""A hand-made store in the pipeline's layout, for cases a real run cannot produce (a tampered
row pointing outside the output directory, a store without tables, an old failed run...)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import insert

from plexrecs_assets import outputs
from plexrecs_assets.keys import default_category_id
from plexrecs_assets.store.db import init_db
from plexrecs_assets.store.schema import category_run, job_run, llm_usage, run_link

CATEGORIES = {
    "categories": [
        {"label": "True Crime", "type": "genre", "media_types": ["movie", "tv"],
         "tmdb_filters": {"include_genres": ["Documentary", "Crime"]}},
        {"label": "Because — The Jinx", "type": "title_seed", "media_types": ["tv", "movie"],
         "seed": {"title": "The Jinx: The Life and Deaths of Robert Durst", "year": 2015, "medium": "tv"}},
        {"label": "Cozy", "type": "keyword", "mood_keywords": ["cozy", "gentle"]},
    ]
}


@dataclass
class Layout:
    config_dir: Path
    db_path: Path
    json_out_dir: Path
    pmm_out_dir: Path

    @classmethod
    def under(cls, root: Path) -> "Layout":
        return cls(root / "config", root / "data" / "plexrecs.sqlite", root / "data" / "recommendations", root / "pmm")


def write_config(layout: Layout, categories: dict = CATEGORIES, api: dict | None = None) -> None:
    layout.config_dir.mkdir(parents=True, exist_ok=True)
    app = {
        "paths": {"db_path": str(layout.db_path), "json_out_dir": str(layout.json_out_dir), "pmm_out_dir": str(layout.pmm_out_dir)},
        "api": {"bind_addr": "127.0.0.1:8080", **(api or {})},
    }
    (layout.config_dir / "app.yml").write_text(yaml.safe_dump(app, allow_unicode=True), encoding="utf-8")
    (layout.config_dir / "categories.yml").write_text(yaml.safe_dump(categories, allow_unicode=True), encoding="utf-8")


def _files(layout: Layout, job_id: int, label: str, tmdb_ids: list[int]) -> dict:
    raw = outputs.raw_json_path(layout.json_out_dir, job_id, default_category_id(label))
    outputs.atomic_write_json(raw, {
        "category": label, "generated_at": "2025-10-07T03:00:03Z",
        "recommendations": [{"title": f"Title {i}", "year": 2020, "medium": "movie", "why": "because",
                             "keywords": ["k"], "tmdb_id": i} for i in tmdb_ids],
    })
    resolved = outputs.resolved_json_path(layout.json_out_dir, job_id, default_category_id(label))
    outputs.atomic_write_json(resolved, {
        "category": label, "resolved_at": "2025-10-07T03:00:16Z",
        "items": [{"title": f"Title {i}", "year": 2020, "medium": "movie", "tmdb_id": i, "imdb_id": f"tt{i:07d}",
                   "runtime_min": 90, "vote_count": 100, "why": "because", "keywords": ["k"], "source": "llm"}
                  for i in tmdb_ids],
        "dropped": {"owned": 1},
    })
    movie = outputs.pmm_paths(layout.pmm_out_dir, default_category_id(label))["movie"]
    outputs.atomic_write_text(movie, yaml.safe_dump({"collections": {f"!01_Recommended — {label} (Movies)": {
        "tmdb_movie": tmdb_ids, "sync_mode": "sync", "summary": "AI-curated picks"}}}, allow_unicode=True))
    outputs.record_pmm_file(layout.pmm_out_dir, movie, label, "movie", len(tmdb_ids))
    return {"raw_json_path": str(raw), "resolved_json_path": str(resolved), "pmm_movie_yaml_path": str(movie)}


def fill(layout: Layout) -> None:
    """Job 1: every category succeeds. Job 2 (latest, partial): Cozy fails, the others succeed."""
    engine = init_db(layout.db_path)
    with engine.begin() as conn:
        for job_id, status in ((1, "success"), (2, "partial")):
            conn.execute(insert(job_run).values(id=job_id, started_at=f"2025-10-0{job_id}T03:00:00Z",
                                                finished_at=f"2025-10-0{job_id}T03:01:00Z", mode="oneshot", status=status))
            conn.execute(insert(run_link).values(job_id=job_id, dagster_run_id=f"dagster-run-{job_id}",
                                                 partition_keys=json.dumps([c["label"] for c in CATEGORIES["categories"]])))
            for n, category in enumerate(CATEGORIES["categories"]):
                label = category["label"]
                if job_id == 2 and label == "Cozy":
                    conn.execute(insert(category_run).values(job_id=job_id, label=label, type=category["type"],
                                                             status="failed", error_msg="LLM answered garbage"))
                    continue
                ids = [job_id * 1000 + n * 10 + k for k in range(3)]
                row = conn.execute(insert(category_run).values(job_id=job_id, label=label, type=category["type"],
                                                               status="success", **_files(layout, job_id, label, ids)))
                conn.execute(insert(llm_usage).values(job_id=job_id, category_run_id=row.inserted_primary_key[0],
                                                      label=label, model="gpt-4o-mini", calls=2, prompt_tokens=100,
                                                      completion_tokens=50, recorded_at="2025-10-07T03:00:10Z"))
