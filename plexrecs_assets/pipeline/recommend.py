"""One category's recommendations, from candidate pool to the verified, published list.

The code lives in modules by role; this module keeps the names callers have always imported:

- ``pipeline/category.py``: the shared shapes (context, budget, usage, ``Prepared``, ``Resolution``);
- ``pipeline/pool.py``: engine-neutral steps before choosing (seeds, rotation, candidate pool);
- ``pipeline/selection.py``: engine-neutral steps after choosing (verification, pool fill, diversity);
- ``pipeline/llm_engine.py``: the LLM engine (prompt, repair, top-up), ``LlmRecommender``;
- ``pipeline/engines.py``: the ``Recommender`` protocol the assets use.
"""
from plexrecs_assets.pipeline.category import (  # noqa: F401
    DEFAULT_MAX_MISSING_SHARE, SEEN_IN_PROMPT, CategoryContext, CategoryFailed, Prepared, Resolution, TokenBudget,
    Usage, check_missing)
from plexrecs_assets.pipeline.engines import Recommender  # noqa: F401
from plexrecs_assets.pipeline.llm_engine import (  # noqa: F401
    LlmRecommender, ask_llm, estimate_tokens, make_payload, prepare_category, resolve_category, shape_problem)
from plexrecs_assets.pipeline.pool import (  # noqa: F401
    BATCH_JOBS, MAX_ANCHORS, POOL_FACTOR, Plan, _unless_not_found, build_pool, category_terms, fit_score,
    library_pool, plan_category, resolve_seeds, rotate)
from plexrecs_assets.pipeline.selection import (  # noqa: F401
    complete_resolution, enforce_diversity, pool_fill_why, published_item, verify_items)
