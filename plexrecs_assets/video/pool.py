"""Engine-neutral steps before an engine chooses: the seeds, the rotation of the published
collection, and the paged candidate pool of fresh, on-topic TMDb titles (or, in library mode,
owned unwatched ones). ``plan_category`` runs them in order."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.video.dedupe import _SERIES_GENRE_PARTS as _SERIES_PARTS
from plexrecs_assets.video.dedupe import expand_genres
from plexrecs_assets.video.models import Candidate, TitleFacts
from plexrecs_assets.video.moods import genres_for_moods
from plexrecs_assets.video.resolve import verify_item
from plexrecs_assets.video.rotation import split_current
from plexrecs_assets.video.rules import rule_violation, rules_for, seed_closeness
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.video.tmdb_facts import Misses, RequestMeter, TmdbFacts
from plexrecs_assets.video.category import DEFAULT_MAX_MISSING_SHARE, CategoryContext, CategoryFailed, check_missing
from plexrecs_assets.config import Category

POOL_FACTOR = 3  # the pool aims for POOL_FACTOR × the picks still needed, fresh and on topic
BATCH_JOBS = 8  # list requests per pool-building round (they go out concurrently)
MAX_ANCHORS = 12  # seeds, fitting likes and the best pool titles whose recommendations/similar lists are read
LOOKUP_FAILED = object()


# ---------------------------------------------------------------- scoring


def category_terms(category: Category, seeds: list[TitleFacts]) -> tuple[set[str], set[str], set[str]]:
    """(wanted genres, wanted keywords, avoided keywords) that frame a category."""
    genres = set(category.tmdb_filters.include_genres)
    genres |= set(genres_for_moods(category.moods))
    keywords = {k.lower() for k in list(category.keywords_prefer) + category.moods}
    for seed in seeds:
        genres |= set(expand_genres(seed.genres))
        keywords |= {k.lower() for k in seed.keywords}
    avoid = {k.lower() for k in category.keywords_avoid}
    return genres, keywords, avoid


def fit_score(facts: TitleFacts, terms: tuple[set[str], set[str], set[str]], taste: TasteProfile) -> float:
    genres, keywords, avoid = terms
    own_genres = set(expand_genres(facts.genres))
    own_keywords = {k.lower() for k in facts.keywords}
    score = 2.0 * len(own_genres & genres) + 1.5 * len(own_keywords & keywords) - 4.0 * len(own_keywords & avoid)
    score += 3.0 * taste.affinity(facts)
    score += min(facts.vote_count, 5000) / 5000.0  # a little weight for well-known titles
    return score



def resolve_seeds(category: Category, tmdb: TmdbFacts, misses: Misses | None = None) -> list[TitleFacts]:
    misses = misses if misses is not None else Misses()
    seeds = category.seed_list
    found: list[TitleFacts] = []
    failed_before = misses.failed
    for seed in seeds:
        verdict = misses.call(verify_item, seed.model_dump(mode="json"), seed.medium,
                              lambda t, y, m: tmdb.search(t, y, m))
        if verdict is not None and verdict.accepted and verdict.tmdb_id is not None:
            facts = misses.call(tmdb.details, seed.medium, verdict.tmdb_id)
            if facts:
                found.append(facts)
    if seeds and not found:
        names = ", ".join(f"{s.title!r} ({s.year}, {s.medium})" for s in seeds)
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
        if ctx.category.type == "genre":
            with_genres = _genre_param(rules.include_genres, ids, ",")
            if with_genres:
                streams.append({"medium": medium, "with_genres": with_genres, "without_genres": without})
        elif ctx.category.type == "keyword":
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


LIBRARY_TASTE_WEIGHT = 6.0
CONTINUE_BONUS = 4.0  # a show the viewer started and has not finished is the first thing to watch next


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
    fitting = [f for f in facts.values() if ctx.exclusion(f) is None]
    # Every owned title already obeys the category's filters, so what ranks "watch next" is the
    # viewer's own taste: their affinity, scaled to this pool, weighs more than the topic terms.
    affinity = {f.key: ctx.taste.affinity(f) for f in fitting}
    top = max(affinity.values(), default=0.0) or 1.0
    pool = [Candidate(f, fit_score(f, terms, ctx.taste) + 2.0 * seed_closeness(f, ctx.rules)
                      + LIBRARY_TASTE_WEIGHT * max(0.0, affinity[f.key]) / top
                      + (CONTINUE_BONUS if f.key in ctx.continuing else 0.0),
                      {"library", "continue"} if f.key in ctx.continuing else {"library"})
            for f in fitting]
    pool.sort(key=lambda c: (-c.score, c.facts.tmdb_id))
    return pool, {"target": POOL_FACTOR * needed, "owned_unwatched": len(keys), "fresh_on_topic": len(pool),
                  "tmdb_requests": meter.count, "max_tmdb_requests": meter.limit,
                  "stopped_by": "library_scanned" if len(missing) == len(uncached) else "request_bound"}



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


@dataclass
class Plan:
    """What every engine starts from: the seeds, the picks that stay or leave (rotation), how
    many are needed, and the pool of fresh on-topic candidates."""
    seeds: list[TitleFacts]
    kept: list[dict]
    left: list[dict]
    needed: int
    pool: list[Candidate]
    stats: dict
    misses: Misses


def plan_category(ctx: CategoryContext, tmdb: TmdbFacts, executor: ThreadPoolExecutor, *,
                  misses: Misses | None = None, max_missing_share: float = DEFAULT_MAX_MISSING_SHARE) -> Plan:
    """Fails when more than ``max_missing_share`` of the TMDb lookups failed."""
    misses = misses if misses is not None else Misses()
    seeds = resolve_seeds(ctx.category, tmdb, misses) if ctx.category.seed_list else []
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
    return Plan(seeds=seeds, kept=kept, left=left, needed=needed, pool=pool, stats=stats, misses=misses)
