"""One category's recommendations, from candidate pool to the verified, published list.

Plain Python over the service clients (no Dagster): the assets in ``defs/recs`` call
``prepare_category`` (raw_recs) and ``resolve_category`` (resolved_recs).
"""
from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.clients.llm import LlmAnswer, LlmClient
from plexrecs_assets.core.dedupe import _SERIES_GENRE_PARTS as _SERIES_PARTS
from plexrecs_assets.core.dedupe import Exclusions, count_reasons, expand_genres
from plexrecs_assets.core.models import Candidate, TitleFacts
from plexrecs_assets.core.moods import genres_for_moods
from plexrecs_assets.core.prompt import OUTPUT_SCHEMA, build_user_payload, render_messages, with_repair
from plexrecs_assets.core.resolve import YEAR_TOLERANCE, title_similarity, verify_item, FUZZY_MIN_SCORE
from plexrecs_assets.core.rotation import RotationPolicy, split_current
from plexrecs_assets.core.rules import RULE_VIOLATION, CategoryRules, rule_violation, rules_for, seed_closeness
from plexrecs_assets.core.taste import TasteProfile
from plexrecs_assets.pipeline.tmdb_facts import Misses, RequestMeter, TmdbFacts, TooManyMissing

POOL_FACTOR = 3  # the pool aims for POOL_FACTOR × the picks still needed, fresh and on topic
BATCH_JOBS = 8  # list requests per pool-building round (they go out concurrently)
MAX_ANCHORS = 12  # seeds, fitting likes and the best pool titles whose recommendations/similar lists are read
SEEN_IN_PROMPT = 150  # cap the already_seen list so prompts stay small
DEFAULT_MAX_MISSING_SHARE = 0.2  # tmdb.max_missing_share
_LOOKUP_FAILED = object()


class CategoryFailed(RuntimeError):
    """The category cannot be published this run; the message is recorded in category_run."""


class TokenBudget:
    """``recommender.max_tokens_per_run``: refuse a call that could push the run past it."""

    def __init__(self, limit: int | None, used: int = 0):
        self.limit = limit
        self.used = used
        self._lock = threading.Lock()

    def reserve(self, estimate: int) -> None:
        if self.limit is None:
            return
        with self._lock:
            if self.used + estimate > self.limit:
                raise CategoryFailed(
                    f"token budget: this call needs about {estimate} tokens but {self.used} of "
                    f"recommender.max_tokens_per_run={self.limit} are used; stopped before exceeding it "
                    f"(raise the limit or lower recs_per_category)")
            self.used += estimate

    def settle(self, estimate: int, actual: int) -> None:
        if self.limit is None:
            return
        with self._lock:
            self.used += actual - estimate


@dataclass
class CategoryContext:
    category: dict
    count: int
    media_types: list[str]
    exclusions: Exclusions
    taste: TasteProfile
    seen_titles: list[str]
    recent_titles: list[str]
    recency_weight: float
    diversity_min_fraction: float
    grounded: bool
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    current: list[dict] = field(default_factory=list)  # the collection as last published (items with "since")
    policy: RotationPolicy = field(default_factory=RotationPolicy)
    rules: CategoryRules | None = None  # set once the seeds are known (prepare/resolve)

    @property
    def label(self) -> str:
        return self.category["label"]

    @property
    def mode(self) -> str:
        return self.category.get("mode") or "discover"

    @property
    def max_tmdb_requests(self) -> int:
        return int(self.category.get("max_tmdb_requests") or 400)

    @property
    def now_iso(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def include_genres(self) -> list[str]:
        return list((self.category.get("tmdb_filters") or {}).get("include_genres") or [])

    @property
    def exclude_genres(self) -> list[str]:
        return list((self.category.get("tmdb_filters") or {}).get("exclude_genres") or [])

    def exclusion(self, facts: TitleFacts) -> str | None:
        """Why ``facts`` may not be added to the collection now, or None."""
        reason = self.standing(facts)
        if reason is None and facts.key in self.exclusions.recently_recommended:
            reason = "recently_recommended"
        return reason

    def standing(self, facts: TitleFacts) -> str | None:
        """Why ``facts`` may not be in the collection at all (the 60-day rule aside)."""
        if facts.medium not in self.media_types:
            return "media_type"
        if self.mode == "library":
            if facts.key not in self.exclusions.inventory:
                return "not_in_library"
        elif facts.key in self.exclusions.inventory:
            return "in_inventory"
        if facts.key in self.exclusions.seen:
            return "already_seen"
        if self.rules is None:  # before the seeds are known: every rule but closeness to them
            self.rules = rules_for(self.category, self.media_types)
        return RULE_VIOLATION if rule_violation(facts, self.rules) else None


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None

    def add(self, answer: LlmAnswer) -> None:
        self.calls += 1
        self.prompt_tokens += answer.prompt_tokens or 0
        self.completion_tokens += answer.completion_tokens or 0
        self.model = answer.model or self.model


@dataclass
class Prepared:
    """What raw_recs produces for one category."""

    raw: dict  # the raw JSON document
    pool: list[Candidate]
    seeds: list[TitleFacts]
    usage: Usage = field(default_factory=Usage)
    kept: list[dict] = field(default_factory=list)  # yesterday's picks that stay (rotation policy)
    left: list[dict] = field(default_factory=list)  # yesterday's picks that leave, with left_because
    pool_stats: dict = field(default_factory=dict)
    misses: Misses = field(default_factory=Misses)  # TMDb lookups of the pool, and those skipped


# ---------------------------------------------------------------- scoring


def category_terms(category: dict, seeds: list[TitleFacts]) -> tuple[set[str], set[str], set[str]]:
    """(wanted genres, wanted keywords, avoided keywords) that frame a category."""
    filters = category.get("tmdb_filters") or {}
    genres = set(filters.get("include_genres") or [])
    genres |= set(genres_for_moods(category.get("mood_keywords") or []))
    keywords = {k.lower() for k in (category.get("keywords_prefer") or []) + (category.get("mood_keywords") or [])}
    for seed in seeds:
        genres |= set(expand_genres(seed.genres))
        keywords |= {k.lower() for k in seed.keywords}
    avoid = {k.lower() for k in category.get("keywords_avoid") or []}
    return genres, keywords, avoid


def fit_score(facts: TitleFacts, terms: tuple[set[str], set[str], set[str]], taste: TasteProfile) -> float:
    genres, keywords, avoid = terms
    own_genres = set(expand_genres(facts.genres))
    own_keywords = {k.lower() for k in facts.keywords}
    score = 2.0 * len(own_genres & genres) + 1.5 * len(own_keywords & keywords) - 4.0 * len(own_keywords & avoid)
    score += 3.0 * taste.affinity(facts)
    score += min(facts.vote_count, 5000) / 5000.0  # a little weight for well-known titles
    return score


# ---------------------------------------------------------------- seeds and pool


def check_missing(misses: Misses, max_share: float, what: str) -> None:
    try:
        misses.check(max_share, what)
    except TooManyMissing as exc:
        raise CategoryFailed(str(exc)) from None


def resolve_seeds(category: dict, tmdb: TmdbFacts, misses: Misses | None = None) -> list[TitleFacts]:
    misses = misses if misses is not None else Misses()
    seeds = [category["seed"]] if category["type"] == "title_seed" else category.get("seeds") or []
    found: list[TitleFacts] = []
    failed_before = misses.failed
    for seed in seeds:
        verdict = misses.call(verify_item, seed, seed.get("medium", "movie"),
                              lambda t, y, m: tmdb.search(t, y, m))
        if verdict is not None and verdict.accepted and verdict.tmdb_id is not None:
            facts = misses.call(tmdb.details, seed.get("medium", "movie"), verdict.tmdb_id)
            if facts:
                found.append(facts)
    if seeds and not found:
        names = ", ".join(f"{s['title']!r} ({s.get('year')}, {s.get('medium')})" for s in seeds)
        if misses.failed > failed_before:
            raise CategoryFailed(f"tmdb: could not look up the seed(s) {names}: {misses.last_error}")
        raise CategoryFailed(f"seed not found on TMDb: {names}; check title, year and medium in categories.yml")
    return found


def _unless_not_found(job) -> list:
    """Run ``job``'s fetch; an anchor TMDb no longer knows (404) adds nothing, the others still do."""
    try:
        return job[1]()
    except ServiceError as exc:
        if exc.kind == "not_found":
            return []
        raise


def _genre_param(names, ids: dict[str, int], joiner: str) -> str | None:
    """TMDb genre ids for ``names`` joined with ``joiner`` (',' = all of them, '|' = any).
    A movie genre name also finds its series counterpart ("Science Fiction" → "Sci-Fi & Fantasy").
    None when a name has no id for this medium (with ',' the query could then match nothing)."""
    out: list[str] = []
    for name in sorted(set(names)):
        found = [ids[name]] if name in ids else [ids[g] for g, parts in _SERIES_PARTS.items() if name in parts and g in ids]
        if not found:
            if joiner == ",":
                return None
            continue
        for i in found:
            if str(i) not in out:
                out.append(str(i))
    return joiner.join(out) or None


def _summary_passes(summary, ctx: CategoryContext, names_by_id: dict[int, str]) -> bool:
    """Cheap checks on a list entry before its details are fetched (saves a request each)."""
    key = (summary.medium, summary.tmdb_id)
    if summary.medium not in ctx.media_types or key in ctx.exclusions.seen \
            or key in ctx.exclusions.recently_recommended:
        return False
    if (key in ctx.exclusions.inventory) != (ctx.mode == "library"):
        return False
    if summary.genre_ids and ctx.rules is not None:
        genres = set(expand_genres([names_by_id[g] for g in summary.genre_ids if g in names_by_id]))
        if ctx.rules.include_genres - genres or ctx.rules.exclude_genres & genres:
            return False
    return True


def build_pool(ctx: CategoryContext, tmdb: TmdbFacts, seeds: list[TitleFacts], executor: ThreadPoolExecutor,
               *, needed: int | None = None, taken: set | None = None,
               meter: RequestMeter | None = None, misses: Misses | None = None) -> tuple[list[Candidate], dict]:
    """Fresh, on-topic titles for this category, and what it took to find them.

    Reads, in rounds, the recommendation/similar lists of anchors (seeds first, then the
    household's top likes that obey the rules, then the best titles found so far) and pages
    through TMDb discover (include_genres AND-ed, mood/seed keywords OR-ed) until the pool
    holds ``POOL_FACTOR × needed`` candidates, TMDb has no more pages, or the category's
    request bound (``max_tmdb_requests``) is reached. Owned, seen, recently recommended and
    off-topic titles are removed before the pool is sized. A list or title TMDb fails on is
    skipped and counted in ``misses``."""
    misses = misses if misses is not None else Misses()
    needed = ctx.count if needed is None else needed
    taken = taken or set()
    meter = meter or RequestMeter(ctx.max_tmdb_requests)
    if ctx.rules is None or (seeds and not ctx.rules.seeds):
        ctx.rules = rules_for(ctx.category, ctx.media_types, seeds)
    terms = category_terms(ctx.category, seeds)
    target = POOL_FACTOR * needed
    stats = {"target": target, "list_requests": 0, "discover_pages": 0, "anchors": 0, "considered": 0,
             "stopped_by": "enough"}
    sources: dict[tuple[str, int], set[str]] = {}
    pool: dict[tuple[str, int], Candidate] = {}
    looked: set = set()
    seed_links: set = set()
    names_by_id: dict[int, str] = {}
    for medium in ctx.media_types:
        names_by_id.update({v: k for k, v in tmdb.genre_ids(medium).items()})

    # ---- anchors: (medium, id) whose recommendation/similar lists are read
    anchors: list[tuple[str, int]] = [s.key for s in seeds]
    like_keys = [(e.medium, e.tmdb_id) for e in ctx.taste.top_likes if e.tmdb_id and e.medium in ctx.media_types]
    for key, facts in tmdb.many_details(like_keys[:8], executor, meter=meter).items():
        if rule_violation(facts, ctx.rules) is None and len(anchors) < MAX_ANCHORS // 2 + len(seeds):
            anchors.append(key)
    anchor_jobs = []
    for medium, tmdb_id in anchors:
        for rel in ("recommendations", "similar"):
            anchor_jobs.append((f"{rel}:{medium}:{tmdb_id}", (medium, tmdb_id), rel))
    anchored = set(anchors)

    # ---- discover streams: query parameters, paged until total_pages
    streams: list[dict] = []
    rules = ctx.rules
    for medium in ctx.media_types:
        ids = misses.call(tmdb.genre_ids, medium, default={})
        without = _genre_param(rules.exclude_genres, ids, "|")
        without = without.replace("|", ",") if without else None
        if ctx.category["type"] == "genre":
            with_genres = _genre_param(rules.include_genres, ids, ",")
            if with_genres:
                streams.append({"medium": medium, "with_genres": with_genres, "without_genres": without})
        elif ctx.category["type"] == "keyword":
            keyword_ids = misses.call(tmdb.keyword_ids, sorted(rules.mood_keywords)[:12], default=[])
            if keyword_ids:
                streams.append({"medium": medium, "with_keywords": "|".join(map(str, keyword_ids)),
                                "without_genres": without})
            mood = _genre_param(rules.mood_genres, ids, "|")
            if mood:
                streams.append({"medium": medium, "with_genres": mood, "without_genres": without})
        else:
            for seed in seeds:
                with_genres = _genre_param(expand_genres(seed.genres), ids, ",") if seed.genres else None
                if with_genres:
                    streams.append({"medium": medium, "with_genres": with_genres, "without_genres": without})
            kws = sorted({k.lower() for s in seeds for k in s.keywords})[:12]
            keyword_ids = misses.call(tmdb.keyword_ids, kws, default=[]) if kws else []
            if keyword_ids:
                streams.append({"medium": medium, "with_keywords": "|".join(map(str, keyword_ids)),
                                "without_genres": without})
    for stream in streams:
        stream["next"], stream["total"] = 1, None

    def run_job(job):
        if job[0] == "anchor":
            _, label, (medium, tmdb_id), rel = job
            fetch = tmdb.recommendations if rel == "recommendations" else tmdb.similar
            return label, _unless_not_found((label, lambda: misses.call(fetch, medium, tmdb_id, meter=meter,
                                                                          default=[]))), None
        _, stream, page = job
        params = {k: stream.get(k) for k in ("with_genres", "without_genres", "with_keywords")}
        rows, total = misses.call(tmdb.discover_page, stream["medium"], page, meter=meter, **params,
                                  default=([], None))
        return f"discover:{stream['medium']}", rows, total

    while True:
        if len(pool) >= target:
            break
        if meter.left <= 0:
            stats["stopped_by"] = "request_bound"
            break
        jobs: list = []
        while anchor_jobs and len(jobs) < BATCH_JOBS // 2:
            label, key, rel = anchor_jobs.pop(0)
            jobs.append(("anchor", label, key, rel))
        open_streams = [st for st in streams if st["total"] is None or st["next"] <= min(st["total"], 500)]
        for stream in open_streams:
            if len(jobs) >= BATCH_JOBS:
                break
            jobs.append(("discover", stream, stream["next"]))
            stream["next"] += 1
        if not jobs:
            # Widen: the best titles found so far become anchors too.
            for cand in sorted(pool.values(), key=lambda c: (-c.score, c.facts.tmdb_id)):
                if len(anchored) >= MAX_ANCHORS + len(seeds):
                    break
                if cand.facts.key not in anchored:
                    anchored.add(cand.facts.key)
                    for rel in ("recommendations", "similar"):
                        anchor_jobs.append((f"{rel}:{cand.facts.medium}:{cand.facts.tmdb_id}", cand.facts.key, rel))
            if not anchor_jobs:
                stats["stopped_by"] = "tmdb_exhausted"
                break
            continue
        jobs = jobs[:max(1, meter.left)]
        new_keys = []
        for job, (label, rows, total) in zip(jobs, executor.map(run_job, jobs)):
            stats["list_requests"] += 1
            if job[0] == "discover":
                stats["discover_pages"] += 1
                job[1]["total"] = total or 0
            else:
                stats["anchors"] += 1 if label.startswith("recommendations") else 0
                if job[2] in {s.key for s in seeds}:
                    seed_links.update((r.medium, r.tmdb_id) for r in rows)
            for r in rows:
                key = (r.medium, r.tmdb_id)
                if key in taken:
                    continue
                sources.setdefault(key, set()).add(label)
                if key not in looked:
                    looked.add(key)
                    if _summary_passes(r, ctx, names_by_id):
                        new_keys.append(key)
        if seed_links:
            ctx.rules = rules = ctx.rules.with_links(seed_links)
        new_keys = list(dict.fromkeys(new_keys))[:max(0, meter.left)]
        stats["considered"] += len(new_keys)
        for key, facts in tmdb.many_details(new_keys, executor, misses, meter=meter).items():
            if ctx.exclusion(facts) is None:
                pool[key] = Candidate(facts, 0.0, sources[key])
    for cand in pool.values():
        cand.sources = sources.get(cand.facts.key, cand.sources)
        cand.score = fit_score(cand.facts, terms, ctx.taste) + 2.0 * seed_closeness(cand.facts, ctx.rules)
    ranked = sorted(pool.values(), key=lambda c: (-c.score, c.facts.tmdb_id))
    stats.update({"fresh_on_topic": len(ranked), "tmdb_requests": meter.count,
                  "max_tmdb_requests": meter.limit})
    return ranked, stats


def library_pool(ctx: CategoryContext, tmdb: TmdbFacts, seeds: list[TitleFacts], executor: ThreadPoolExecutor,
                 *, needed: int, taken: set, meter: RequestMeter,
                 misses: Misses | None = None) -> tuple[list[Candidate], dict]:
    """``mode: library``: owned titles nobody has watched, that obey the rules."""
    if ctx.rules is None or (seeds and not ctx.rules.seeds):
        ctx.rules = rules_for(ctx.category, ctx.media_types, seeds)
    terms = category_terms(ctx.category, seeds)
    keys = sorted(k for k in ctx.exclusions.inventory if k[0] in ctx.media_types and k not in taken
                  and k not in ctx.exclusions.seen and k not in ctx.exclusions.recently_recommended)
    facts = tmdb.cached_many(keys)
    uncached = [k for k in keys if k not in facts]
    missing = uncached[:meter.left]
    facts.update(tmdb.many_details(missing, executor, misses, meter=meter))
    pool = [Candidate(f, fit_score(f, terms, ctx.taste) + 2.0 * seed_closeness(f, ctx.rules), {"library"})
            for f in facts.values() if ctx.exclusion(f) is None]
    pool.sort(key=lambda c: (-c.score, c.facts.tmdb_id))
    return pool, {"target": POOL_FACTOR * needed, "owned_unwatched": len(keys), "fresh_on_topic": len(pool),
                  "tmdb_requests": meter.count, "max_tmdb_requests": meter.limit,
                  "stopped_by": "library_scanned" if len(missing) == len(uncached) else "request_bound"}


# ---------------------------------------------------------------- LLM


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


def rotate(ctx: CategoryContext, tmdb: TmdbFacts, executor: ThreadPoolExecutor,
           meter: RequestMeter | None = None) -> tuple[list[dict], list[dict]]:
    """Split the collection as last published into picks that stay and picks that leave."""
    if not ctx.current:
        return [], []
    facts = tmdb.many_details([(i["medium"], i["tmdb_id"]) for i in ctx.current], executor, meter=meter)

    def leave_reason(item: dict) -> str | None:
        f = facts.get((item["medium"], item["tmdb_id"]))
        if f is None:
            return "TMDb no longer knows it"
        reason = ctx.standing(f)
        return {"already_seen": "watched"}.get(reason, reason) if reason else None

    kept, left = split_current(ctx.current, now=ctx.now, policy=ctx.policy, leave_reason=leave_reason)
    if len(kept) > ctx.count:  # `recs` was lowered: the oldest picks make room
        kept.sort(key=lambda i: i["since"], reverse=True)
        left += [{**i, "left_because": f"recs lowered to {ctx.count}"} for i in kept[ctx.count:]]
        kept = kept[:ctx.count]
    return kept, left


def prepare_category(ctx: CategoryContext, tmdb: TmdbFacts, llm: LlmClient, budget: TokenBudget,
                     executor: ThreadPoolExecutor, generated_at: str, usage: Usage | None = None, *,
                     misses: Misses | None = None, max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Prepared:
    """``usage`` (the caller's, when given) counts every LLM call, also those of a category
    that then fails, so their tokens are still recorded; ``misses`` likewise the TMDb lookups.
    Fails (before asking the LLM) when more than ``max_missing_share`` of the lookups failed."""
    misses = misses if misses is not None else Misses()
    seeds = resolve_seeds(ctx.category, tmdb, misses) if ctx.category["type"] in ("title_seed", "seed_list") else []
    # The rules include closeness to the seeds: fix them before rotation judges the kept picks,
    # or the first standing() call would fix them without the seeds for the pool as well.
    ctx.rules = rules_for(ctx.category, ctx.media_types, seeds)
    meter = RequestMeter(ctx.max_tmdb_requests)
    kept, left = rotate(ctx, tmdb, executor, meter)
    needed = max(0, ctx.count - len(kept))
    taken = {(i["medium"], i["tmdb_id"]) for i in kept}
    if needed == 0:
        pool, stats = [], {"target": 0, "fresh_on_topic": 0, "tmdb_requests": meter.count,
                           "max_tmdb_requests": meter.limit, "stopped_by": "collection_full"}
    elif ctx.mode == "library":
        pool, stats = library_pool(ctx, tmdb, seeds, executor, needed=needed, taken=taken, meter=meter,
                                   misses=misses)
    else:
        pool, stats = build_pool(ctx, tmdb, seeds, executor, needed=needed, taken=taken, meter=meter,
                                 misses=misses)
    check_missing(misses, max_missing_share, f"the pool of {ctx.label!r}")
    usage = usage if usage is not None else Usage()
    data: dict = {"recommendations": []}
    if needed and pool:  # an empty pool has nothing to choose from: no LLM call, no tokens spent
        payload = make_payload(ctx, seeds, pool, count=needed)
        data, _content = ask_llm(llm, payload, ctx, budget, usage)
    raw = {
        "category": ctx.label,
        "generated_at": generated_at,
        "model": usage.model,
        "recommendations": data.get("recommendations", []),
        "kept": kept,
        "left": left,
        "needed": needed,
        "pool_stats": stats,
    }
    return Prepared(raw=raw, pool=pool, seeds=seeds, usage=usage, kept=kept, left=left, pool_stats=stats,
                    misses=misses)


# ---------------------------------------------------------------- verification and selection


@dataclass
class Resolution:
    items: list[dict]
    rejected: list[dict]
    dropped: dict[str, int]
    sources: dict[str, int]
    diversity: dict
    usage: Usage
    kept: int = 0
    left: list[dict] = field(default_factory=list)
    short: dict | None = None  # {"reason": ...} when fewer on-topic titles than wanted were found
    tmdb: dict = field(default_factory=dict)  # {"lookups": n, "failed": k} of the verification


def _pool_id_matches(item: dict, cand: Candidate) -> bool:
    f = cand.facts
    year = item.get("year")
    return (item.get("medium") == f.medium
            and max(title_similarity(item["title"], f.title), title_similarity(item["title"], f.original_title)) >= FUZZY_MIN_SCORE
            and isinstance(year, int) and f.year is not None and abs(year - f.year) <= YEAR_TOLERANCE)


def verify_items(items: list[dict], ctx: CategoryContext, tmdb: TmdbFacts, pool_by_key: dict, taken: set,
                 source: str, executor: ThreadPoolExecutor, misses: Misses | None = None) -> tuple[list[dict], list[dict]]:
    """Accept an item only when TMDb confirms title, year (±1) and medium; then apply the
    exclusions. Returns (accepted published items, rejected {title, year, medium, reason}).
    An item TMDb fails on is rejected as ``tmdb_unavailable`` (and counted in ``misses``)."""
    misses = misses if misses is not None else Misses()

    def one(item: dict) -> tuple[dict, TitleFacts | None, str, str]:
        if not isinstance(item, dict) or not isinstance(item.get("title"), str) or item.get("medium") not in ("movie", "tv"):
            return item, None, "unresolved", "bad item"
        medium = item["medium"]
        claimed = item.get("tmdb_id")
        if ctx.grounded and isinstance(claimed, int) and (medium, claimed) in pool_by_key:
            cand = pool_by_key[(medium, claimed)]
            if _pool_id_matches(item, cand):
                return item, cand.facts, "", ""
        verdict = misses.call(verify_item, item, medium, lambda t, y, m: tmdb.search(t, y, m),
                              lambda t, y, m: tmdb.search(t, y, m), default=_LOOKUP_FAILED)
        if verdict is _LOOKUP_FAILED:
            return item, None, "tmdb_unavailable", misses.last_error or "TMDb failed"
        if not verdict.accepted or verdict.tmdb_id is None:
            return item, None, "unresolved", f"{verdict.reason}: {verdict.detail}"
        facts = misses.call(tmdb.details, medium, verdict.tmdb_id, default=_LOOKUP_FAILED)
        if facts is _LOOKUP_FAILED:
            return item, None, "tmdb_unavailable", misses.last_error or "TMDb failed"
        if facts is None:
            return item, None, "unresolved", "TMDb has no details for the matched id"
        return item, facts, "", ""

    accepted, rejected = [], []
    for item, facts, reason, detail in executor.map(one, items):
        title = item.get("title") if isinstance(item, dict) else None
        base = {"title": title, "year": item.get("year") if isinstance(item, dict) else None,
                "medium": item.get("medium") if isinstance(item, dict) else None}
        if facts is None:
            rejected.append({**base, "reason": reason, "detail": detail})
            continue
        reason = "duplicate" if facts.key in taken else ctx.exclusion(facts)
        if reason:
            rejected.append({**base, "reason": reason, "detail": f"TMDb {facts.medium} {facts.tmdb_id}"})
            continue
        taken.add(facts.key)
        accepted.append(published_item(facts, why=str(item.get("why") or "").strip(),
                                       keywords=item.get("keywords"), source=source))
    return accepted, rejected


def published_item(facts: TitleFacts, *, why: str, keywords: Any, source: str) -> dict:
    kw = [str(k) for k in keywords] if isinstance(keywords, list) else list(facts.keywords[:5])
    return {
        "title": facts.title, "year": facts.year, "medium": facts.medium, "tmdb_id": facts.tmdb_id,
        "imdb_id": facts.imdb_id, "runtime_min": facts.runtime_min, "vote_count": facts.vote_count,
        "why": why, "keywords": kw, "genres": list(facts.genres), "source": source,
    }


def pool_fill_why(facts: TitleFacts, ctx: CategoryContext, seeds: list[TitleFacts]) -> str:
    shared = [k for k in facts.keywords if k.lower() in category_terms(ctx.category, seeds)[1]][:3]
    basis = f"shares {', '.join(shared)}" if shared else f"{', '.join(facts.genres[:2]) or 'fits'} and close to your taste"
    return f"Picked from TMDb for {ctx.label}: {basis}."


def enforce_diversity(items: list[dict], spare: list[Candidate], ctx: CategoryContext, seeds: list[TitleFacts],
                      taken: set) -> dict:
    """Make at least ``diversity_min_fraction`` of the items fall outside the household's top
    genres (genres the category itself asks for do not count), swapping the lowest-ranked
    items for fitting pool titles."""
    top = [g for g in ctx.taste.top_genres if g not in set(ctx.include_genres)]
    if not items or not top or ctx.diversity_min_fraction <= 0:
        return {"top_genres": top, "outside_share": None, "swapped": 0}

    def outside(genres) -> bool:
        return not (set(expand_genres(genres)) & set(top))

    need = math.ceil(ctx.diversity_min_fraction * len(items))
    have = sum(outside(i["genres"]) for i in items)
    swapped = 0
    replacements = [c for c in spare if outside(c.facts.genres) and c.facts.key not in taken]
    for index in range(len(items) - 1, -1, -1):
        if have >= need or not replacements:
            break
        if outside(items[index]["genres"]):
            continue
        cand = replacements.pop(0)
        taken.discard((items[index]["medium"], items[index]["tmdb_id"]))
        taken.add(cand.facts.key)
        items[index] = published_item(cand.facts, why=pool_fill_why(cand.facts, ctx, seeds), keywords=None,
                                      source="pool_fill")
        have += 1
        swapped += 1
    return {"top_genres": top, "outside_share": round(have / len(items), 3), "swapped": swapped,
            "met": have >= need}


def resolve_category(ctx: CategoryContext, prepared: Prepared, tmdb: TmdbFacts, llm: LlmClient | None,
                     budget: TokenBudget, executor: ThreadPoolExecutor, *, top_up_rounds: int,
                     usage: Usage | None = None, misses: Misses | None = None,
                     max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Resolution:
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
    check_missing(misses, max_missing_share, f"verifying the picks of {ctx.label!r}")
    # Pool titles were checked against the rules when the pool was built; check again, the
    # rules may be stricter now (e.g. categories.yml changed between raw_recs and resolved_recs).
    spare = [c for c in prepared.pool if c.facts.key not in taken and ctx.exclusion(c.facts) is None]
    spare.sort(key=lambda c: (-(c.score + 3.0 * ctx.taste.affinity(c.facts)), c.facts.tmdb_id))
    while len(items) < needed and spare:
        cand = spare.pop(0)
        taken.add(cand.facts.key)
        items.append(published_item(cand.facts, why=pool_fill_why(cand.facts, ctx, prepared.seeds),
                                    keywords=None, source="pool_fill"))
    diversity = enforce_diversity(items, spare, ctx, prepared.seeds, taken)
    for item in items:
        item["since"] = ctx.now_iso
    items = kept + items
    sources: dict[str, int] = {}
    for item in items:  # a kept pick counts as kept: this run did not choose it again
        source = "kept" if item.get("kept") else item["source"]
        sources[source] = sources.get(source, 0) + 1
    short = None
    if len(items) < ctx.count:
        stats = prepared.raw.get("pool_stats") or prepared.pool_stats or {}
        why = {"tmdb_exhausted": "TMDb has no more matching titles",
               "request_bound": f"the TMDb request bound (max_tmdb_requests={stats.get('max_tmdb_requests')}) "
                                f"was reached",
               "library_scanned": "the library holds no more unwatched titles that fit"}.get(
            stats.get("stopped_by"), "not enough candidates")
        short = {"reason": f"only {len(items)} of {ctx.count} titles obey the category's rules and are fresh "
                           f"(not owned, not watched, not recommended in the last 60 days): {why}",
                 "published": len(items), "wanted": ctx.count}
    return Resolution(items=items, rejected=rejected, dropped=count_reasons([r["reason"] for r in rejected]),
                      sources=sources, diversity=diversity, usage=usage, kept=len(kept), left=list(left or []),
                      short=short, tmdb=misses.to_json())
