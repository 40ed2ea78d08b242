"""The seam between the per-category assets and whatever chooses the titles.

An engine gets the category's context (rules, exclusions, rotation, taste) and the run's
cached TMDb facts, and returns the engine-neutral shapes of ``video/category.py``. The
steps every engine shares live outside it: the plan (seeds, rotation, pool:
``video/pool.plan_category``) before it chooses, and verification, pool fill, diversity
and the short marker (``video/selection``) after.

Today there is one engine, ``LlmRecommender`` (``engines/llm.py``). A local engine
(no LLM) or a hybrid is another class with these two methods; the assets pick one per
category, so nothing else changes.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from plexrecs_assets.video.category import CategoryContext, Prepared, Resolution, Usage
from plexrecs_assets.video.tmdb_facts import Misses, TmdbFacts


class Recommender(Protocol):
    name: str

    def prepare(self, ctx: CategoryContext, tmdb: TmdbFacts, executor: ThreadPoolExecutor, generated_at: str,
                usage: Usage, *, misses: Misses, max_missing_share: float) -> Prepared:
        """raw_recs: plan the category and choose; ``Prepared.raw`` is the raw document."""

    def resolve(self, ctx: CategoryContext, prepared: Prepared, tmdb: TmdbFacts, executor: ThreadPoolExecutor,
                usage: Usage, *, max_missing_share: float) -> Resolution:
        """resolved_recs: verify the choice, fill any gap, and summarize."""
