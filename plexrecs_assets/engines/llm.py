"""The LLM engine: the prompt over the candidate pool, one repair of an invalid answer, and
top-up rounds for picks that failed verification. Everything else it runs is engine-neutral
(``video/pool.py``, ``video/selection.py``)."""
from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from plexrecs_assets.clients.llm import LlmClient
from plexrecs_assets.video.models import Candidate, TitleFacts
from plexrecs_assets.engines.prompt import OUTPUT_SCHEMA, build_user_payload, render_messages, with_repair
from plexrecs_assets.video.rules import rules_for
from plexrecs_assets.video.tmdb_facts import Misses, TmdbFacts
from plexrecs_assets.video.category import (
    DEFAULT_MAX_MISSING_SHARE, SEEN_IN_PROMPT, CategoryContext, CategoryFailed, Prepared, Resolution, TokenBudget,
    Usage)
from plexrecs_assets.video.pool import POOL_FACTOR, plan_category
from plexrecs_assets.video.selection import complete_resolution, verify_items


def estimate_tokens(system: str, user: str, count: int) -> int:
    return math.ceil((len(system) + len(user)) / 4) + 60 * count


def ask_llm(llm: LlmClient, payload: dict, ctx: CategoryContext, budget: TokenBudget, usage: Usage) -> tuple[dict, str]:
    """One answer, with one repair attempt if it is not valid JSON of the expected shape."""
    system, user = render_messages(payload, ctx.grounded)
    content, problem = "", ""
    for attempt in (1, 2):
        estimate = estimate_tokens(system, user, payload["constraints"]["count"])
        budget.reserve(estimate)
        answer = llm.complete_json(system, user, OUTPUT_SCHEMA)
        usage.add(answer)
        budget.settle(estimate, (answer.prompt_tokens or 0) + (answer.completion_tokens or 0))
        content = answer.content or ""
        problem = answer.parse_error or shape_problem(answer.data)
        if not problem:
            return answer.data, content  # type: ignore[return-value]
        if attempt == 1:
            user = json.dumps(with_repair(payload, content, problem), ensure_ascii=False)
    raise CategoryFailed(f"LLM answer invalid after one repair attempt: {problem}")


def shape_problem(data: Any) -> str:
    if not isinstance(data, dict):
        return "answer is not a JSON object"
    recs = data.get("recommendations")
    if not isinstance(recs, list):
        return "'recommendations' is missing or not a list"
    for index, item in enumerate(recs):
        if not isinstance(item, dict):
            return f"recommendations[{index}] is not an object"
        if not isinstance(item.get("title"), str) or not item["title"].strip():
            return f"recommendations[{index}].title is missing"
        if item.get("medium") not in ("movie", "tv"):
            return f"recommendations[{index}].medium is {item.get('medium')!r} (expected movie or tv)"
        if item.get("year") is not None and not isinstance(item.get("year"), int):
            return f"recommendations[{index}].year is {item.get('year')!r} (expected an integer)"
    return ""


def make_payload(ctx: CategoryContext, seeds: list[TitleFacts], pool: list[Candidate], *, count: int,
                 exclude: list[str] | None = None) -> dict:
    seeds_facts = [{"title": s.title, "year": s.year, "medium": s.medium, "genres": list(s.genres),
                    "keywords": list(s.keywords[:10]), "overview": s.overview[:200]} for s in seeds]
    offered = pool[: POOL_FACTOR * max(1, count)]  # the best of the pool; the rest stays for pool fill
    return build_user_payload(
        category=ctx.category, count=count, recency_weight=ctx.recency_weight,
        diversity_min_fraction=ctx.diversity_min_fraction, media_types=ctx.media_types,
        taste=ctx.taste.for_prompt(), already_seen=ctx.seen_titles[:SEEN_IN_PROMPT],
        already_recommended=ctx.recent_titles, seeds_facts=seeds_facts or None,
        candidates=[c.for_prompt() for c in offered] if ctx.grounded else None, exclude=exclude,
    )



def prepare_category(ctx: CategoryContext, tmdb: TmdbFacts, llm: LlmClient, budget: TokenBudget,
                     executor: ThreadPoolExecutor, generated_at: str, usage: Usage | None = None, *,
                     misses: Misses | None = None, max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Prepared:
    """The engine-neutral plan (seeds, rotation, pool), then the LLM's choice from the pool.

    ``usage`` (the caller's, when given) counts every LLM call, also those of a category that
    then fails, so their tokens are still recorded; ``misses`` likewise the TMDb lookups.
    Fails (before asking the LLM) when more than ``max_missing_share`` of the lookups failed."""
    plan = plan_category(ctx, tmdb, executor, misses=misses, max_missing_share=max_missing_share)
    usage = usage if usage is not None else Usage()
    data: dict = {"recommendations": []}
    if plan.needed and plan.pool:  # an empty pool has nothing to choose from: no LLM call, no tokens spent
        payload = make_payload(ctx, plan.seeds, plan.pool, count=plan.needed)
        data, _content = ask_llm(llm, payload, ctx, budget, usage)
    raw = {
        "category": ctx.label,
        "generated_at": generated_at,
        "model": usage.model,
        "recommendations": data.get("recommendations", []),
        "kept": plan.kept,
        "left": plan.left,
        "needed": plan.needed,
        "pool_stats": plan.stats,
    }
    return Prepared(raw=raw, pool=plan.pool, seeds=plan.seeds, usage=usage, kept=plan.kept, left=plan.left,
                    pool_stats=plan.stats, misses=plan.misses)


def resolve_category(ctx: CategoryContext, prepared: Prepared, tmdb: TmdbFacts, llm: LlmClient | None,
                     budget: TokenBudget, executor: ThreadPoolExecutor, *, top_up_rounds: int,
                     usage: Usage | None = None, misses: Misses | None = None,
                     max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Resolution:
    """Verify the LLM's picks, ask again (``top_up_rounds``) for the ones that failed, then the
    engine-neutral completion: pool fill, diversity, short."""
    ctx.rules = rules_for(ctx.category, ctx.media_types, prepared.seeds)
    kept = [{**i, "kept": True} for i in (prepared.raw.get("kept") if prepared.raw.get("kept") is not None
                                           else prepared.kept)]
    left = prepared.raw.get("left") if prepared.raw.get("left") is not None else prepared.left
    needed = max(0, ctx.count - len(kept))
    pool_by_key = {c.facts.key: c for c in prepared.pool}
    taken: set = {(i["medium"], i["tmdb_id"]) for i in kept}
    usage = usage if usage is not None else Usage()
    misses = misses if misses is not None else Misses()
    items, rejected = verify_items(prepared.raw.get("recommendations") or [], ctx, tmdb, pool_by_key, taken,
                                   "llm", executor, misses)
    items = items[:needed]
    rounds = 0
    while len(items) < needed and rounds < top_up_rounds and llm is not None:
        remaining_pool = [c for c in prepared.pool if c.facts.key not in taken]
        if not remaining_pool:
            break  # nothing left to choose from: asking again would only spend tokens
        rounds += 1
        exclude = [f"{r['title']} ({r['year']})" for r in rejected if r.get("title")] + \
                  [f"{i['title']} ({i['year']})" for i in items]
        payload = make_payload(ctx, prepared.seeds, remaining_pool, count=needed - len(items), exclude=exclude)
        try:
            data, _ = ask_llm(llm, payload, ctx, budget, usage)
        except CategoryFailed:
            break  # the pool fill below still completes the category
        more, more_rejected = verify_items(data.get("recommendations") or [], ctx, tmdb, pool_by_key, taken,
                                           "llm_retry", executor, misses)
        rejected += more_rejected
        items += more[: needed - len(items)]
        if not more:
            break
    return complete_resolution(ctx, prepared, kept=kept, left=left, items=items, rejected=rejected, taken=taken,
                               needed=needed, usage=usage, misses=misses, max_missing_share=max_missing_share)


class LlmRecommender:
    """The ``Recommender`` (``engines/__init__.py``) that asks an OpenAI-compatible model to
    choose from the pool."""

    name = "llm"

    def __init__(self, llm: LlmClient, budget: TokenBudget, *, top_up_rounds: int):
        self.llm, self.budget, self.top_up_rounds = llm, budget, top_up_rounds

    def prepare(self, ctx: CategoryContext, tmdb: TmdbFacts, executor: ThreadPoolExecutor, generated_at: str,
                usage: Usage, *, misses: Misses, max_missing_share: float) -> Prepared:
        return prepare_category(ctx, tmdb, self.llm, self.budget, executor, generated_at, usage,
                                misses=misses, max_missing_share=max_missing_share)

    def resolve(self, ctx: CategoryContext, prepared: Prepared, tmdb: TmdbFacts, executor: ThreadPoolExecutor,
                usage: Usage, *, max_missing_share: float) -> Resolution:
        return resolve_category(ctx, prepared, tmdb, self.llm, self.budget, executor,
                                top_up_rounds=self.top_up_rounds, usage=usage, max_missing_share=max_missing_share)
