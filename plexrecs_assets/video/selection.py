"""Engine-neutral steps after an engine chose: strict verification of picks against TMDb and
the category's rules, the pool fill of any gap, diversity, and the resolution's summary."""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from plexrecs_assets.video.dedupe import count_reasons, expand_genres
from plexrecs_assets.video.models import Candidate, TitleFacts
from plexrecs_assets.video.resolve import YEAR_TOLERANCE, title_similarity, verify_item, FUZZY_MIN_SCORE
from plexrecs_assets.video.tmdb_facts import Misses, TmdbFacts
from plexrecs_assets.video.category import CategoryContext, Prepared, Resolution, Usage, check_missing
from plexrecs_assets.video.pool import LOOKUP_FAILED, category_terms


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
                              lambda t, y, m: tmdb.search(t, y, m), default=LOOKUP_FAILED)
        if verdict is LOOKUP_FAILED:
            return item, None, "tmdb_unavailable", misses.last_error or "TMDb failed"
        if not verdict.accepted or verdict.tmdb_id is None:
            return item, None, "unresolved", f"{verdict.reason}: {verdict.detail}"
        facts = misses.call(tmdb.details, medium, verdict.tmdb_id, default=LOOKUP_FAILED)
        if facts is LOOKUP_FAILED:
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


def complete_resolution(ctx: CategoryContext, prepared: Prepared, *, kept: list[dict], left: list, items: list[dict],
                        rejected: list[dict], taken: set, needed: int, usage: Usage, misses: Misses,
                        max_missing_share: float) -> Resolution:
    """After an engine's verified picks (``items``): fill the gap from the pool, keep diversity,
    stamp ``since``, count sources and say why a category is short."""
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

