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
from typing import Any

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.clients.llm import LlmAnswer, LlmClient
from plexrecs_assets.core.dedupe import Exclusions, count_reasons, exclusion_reason, expand_genres
from plexrecs_assets.core.models import Candidate, TitleFacts
from plexrecs_assets.core.moods import genres_for_moods
from plexrecs_assets.core.prompt import OUTPUT_SCHEMA, build_user_payload, render_messages, with_repair
from plexrecs_assets.core.resolve import YEAR_TOLERANCE, title_similarity, verify_item, FUZZY_MIN_SCORE
from plexrecs_assets.core.taste import TasteProfile
from plexrecs_assets.pipeline.tmdb_facts import Misses, TmdbFacts, TooManyMissing

POOL_FACTOR = 3  # pool size = POOL_FACTOR × count
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

    @property
    def label(self) -> str:
        return self.category["label"]

    @property
    def include_genres(self) -> list[str]:
        return list((self.category.get("tmdb_filters") or {}).get("include_genres") or [])

    @property
    def exclude_genres(self) -> list[str]:
        return list((self.category.get("tmdb_filters") or {}).get("exclude_genres") or [])

    def exclusion(self, facts: TitleFacts) -> str | None:
        return exclusion_reason(facts, self.exclusions, media_types=self.media_types,
                                include_genres=self.include_genres, exclude_genres=self.exclude_genres)


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
    try:
        return job[1]()
    except ServiceError as exc:
        if exc.kind == "not_found":  # an anchor TMDb no longer knows adds nothing; the others still do
            return []
        raise


def build_pool(ctx: CategoryContext, tmdb: TmdbFacts, seeds: list[TitleFacts], executor: ThreadPoolExecutor,
               misses: Misses | None = None) -> list[Candidate]:
    """Real titles for this category: TMDb recommendations/similar of the seeds and top likes,
    and discover results by the category's genres and keywords; owned, seen, recently
    recommended and out-of-scope titles removed. A list or title TMDb fails on is skipped
    and counted in ``misses``."""
    misses = misses if misses is not None else Misses()
    terms = category_terms(ctx.category, seeds)
    wanted_genres, wanted_keywords, _ = terms
    sources: dict[tuple[str, int], set[str]] = {}

    def add(summaries, source: str) -> None:
        for s in summaries:
            if s.medium in ctx.media_types:
                sources.setdefault((s.medium, s.tmdb_id), set()).add(source)

    anchors = [(s.medium, s.tmdb_id) for s in seeds]
    likes = [e for e in ctx.taste.top_likes if e.tmdb_id]
    if ctx.category["type"] in ("genre", "keyword"):
        # Only likes that fit the category steer its pool (a sci-fi fan's likes say nothing about True Crime).
        likes = [e for e in likes if set(expand_genres(e.genres)) & wanted_genres] or []
    anchors += [(e.medium, e.tmdb_id) for e in likes[:4]]
    jobs = []
    for medium, tmdb_id in anchors:
        jobs.append((f"recommendations:{medium}:{tmdb_id}", lambda m=medium, i=tmdb_id: tmdb.recommendations(m, i)))
        jobs.append((f"similar:{medium}:{tmdb_id}", lambda m=medium, i=tmdb_id: tmdb.similar(m, i)))
    for medium in ctx.media_types:
        ids = misses.call(tmdb.genre_ids, medium, default={})
        names = set(wanted_genres) | ({"Sci-Fi & Fantasy"} if medium == "tv" and wanted_genres & {"Science Fiction", "Fantasy"} else set())
        names |= {"Action & Adventure"} if medium == "tv" and wanted_genres & {"Action", "Adventure"} else set()
        with_genres = "|".join(str(ids[g]) for g in sorted(names) if g in ids) or None
        without = ",".join(str(ids[g]) for g in ctx.exclude_genres if g in ids) or None
        keyword_ids = misses.call(tmdb.keyword_ids, sorted(wanted_keywords)[:12], default=[]) \
            if wanted_keywords and not seeds else []
        with_keywords = "|".join(str(i) for i in keyword_ids) or None
        if with_keywords:
            jobs.append((f"discover:{medium}:keywords", lambda m=medium, g=with_genres, w=without, k=with_keywords:
                         tmdb.discover(m, with_genres=g, without_genres=w, with_keywords=k)))
        if with_genres:
            for page in (1, 2):
                jobs.append((f"discover:{medium}:genres", lambda m=medium, g=with_genres, w=without, p=page:
                             tmdb.discover(m, with_genres=g, without_genres=w, with_keywords=None, page=p)))
    for (source, _), result in zip(jobs, executor.map(lambda job: misses.call(_unless_not_found, job, default=[]), jobs)):
        add(result, source)

    facts = tmdb.many_details(list(sources), executor, misses)
    pool = []
    for key, f in facts.items():
        if ctx.exclusion(f) is None:
            pool.append(Candidate(f, fit_score(f, terms, ctx.taste), sources[key]))
    pool.sort(key=lambda c: (-c.score, c.facts.tmdb_id))
    return pool[: POOL_FACTOR * ctx.count]


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
    return build_user_payload(
        category=ctx.category, count=count, recency_weight=ctx.recency_weight,
        diversity_min_fraction=ctx.diversity_min_fraction, media_types=ctx.media_types,
        taste=ctx.taste.for_prompt(), already_seen=ctx.seen_titles[:SEEN_IN_PROMPT],
        already_recommended=ctx.recent_titles, seeds_facts=seeds_facts or None,
        candidates=[c.for_prompt() for c in pool] if ctx.grounded else None, exclude=exclude,
    )


def prepare_category(ctx: CategoryContext, tmdb: TmdbFacts, llm: LlmClient, budget: TokenBudget,
                     executor: ThreadPoolExecutor, generated_at: str, usage: Usage | None = None, *,
                     misses: Misses | None = None, max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Prepared:
    """``usage`` (the caller's, when given) counts every LLM call, also those of a category
    that then fails, so their tokens are still recorded; ``misses`` likewise the TMDb lookups.
    Fails (before asking the LLM) when more than ``max_missing_share`` of the lookups failed."""
    misses = misses if misses is not None else Misses()
    seeds = resolve_seeds(ctx.category, tmdb, misses) if ctx.category["type"] in ("title_seed", "seed_list") else []
    pool = build_pool(ctx, tmdb, seeds, executor, misses)
    check_missing(misses, max_missing_share, f"the pool of {ctx.label!r}")
    payload = make_payload(ctx, seeds, pool, count=ctx.count)
    usage = usage if usage is not None else Usage()
    data, _content = ask_llm(llm, payload, ctx, budget, usage)
    raw = {
        "category": ctx.label,
        "generated_at": generated_at,
        "model": usage.model,
        "recommendations": data.get("recommendations", []),
    }
    return Prepared(raw=raw, pool=pool, seeds=seeds, usage=usage, misses=misses)


# ---------------------------------------------------------------- verification and selection


@dataclass
class Resolution:
    items: list[dict]
    rejected: list[dict]
    dropped: dict[str, int]
    sources: dict[str, int]
    diversity: dict
    usage: Usage
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
    pool_by_key = {c.facts.key: c for c in prepared.pool}
    taken: set = set()
    usage = usage if usage is not None else Usage()
    misses = misses if misses is not None else Misses()
    items, rejected = verify_items(prepared.raw.get("recommendations") or [], ctx, tmdb, pool_by_key, taken,
                                   "llm", executor, misses)
    items = items[: ctx.count]
    rounds = 0
    while len(items) < ctx.count and rounds < top_up_rounds and llm is not None:
        rounds += 1
        exclude = [f"{r['title']} ({r['year']})" for r in rejected if r.get("title")] + \
                  [f"{i['title']} ({i['year']})" for i in items]
        remaining_pool = [c for c in prepared.pool if c.facts.key not in taken]
        payload = make_payload(ctx, prepared.seeds, remaining_pool, count=ctx.count - len(items), exclude=exclude)
        try:
            data, _ = ask_llm(llm, payload, ctx, budget, usage)
        except CategoryFailed:
            break  # the pool fill below still completes the category
        more, more_rejected = verify_items(data.get("recommendations") or [], ctx, tmdb, pool_by_key, taken,
                                           "llm_retry", executor, misses)
        rejected += more_rejected
        items += more[: ctx.count - len(items)]
        if not more:
            break
    check_missing(misses, max_missing_share, f"verifying the picks of {ctx.label!r}")
    spare = [c for c in prepared.pool if c.facts.key not in taken and ctx.exclusion(c.facts) is None]
    spare.sort(key=lambda c: (-(c.score + 3.0 * ctx.taste.affinity(c.facts)), c.facts.tmdb_id))
    while len(items) < ctx.count and spare:
        cand = spare.pop(0)
        taken.add(cand.facts.key)
        items.append(published_item(cand.facts, why=pool_fill_why(cand.facts, ctx, prepared.seeds),
                                    keywords=None, source="pool_fill"))
    diversity = enforce_diversity(items, spare, ctx, prepared.seeds, taken)
    sources: dict[str, int] = {}
    for item in items:
        sources[item["source"]] = sources.get(item["source"], 0) + 1
    return Resolution(items=items, rejected=rejected, dropped=count_reasons([r["reason"] for r in rejected]),
                      sources=sources, diversity=diversity, usage=usage, tmdb=misses.to_json())
