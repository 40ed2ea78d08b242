"""A category's filters as hard rules: every published item must obey them, whatever its source.

- ``include_genres``: the item has *all* of them (TMDb ``with_genres`` joined with commas).
- ``exclude_genres``: the item has *none* of them.
- ``keywords_avoid``: the item carries none of these TMDb keywords.
- ``media_types``: the item's medium is one of them.
- ``title_seed`` / ``seed_list``: the item shares at least one genre with one of the seeds;
  a shared keyword or a TMDb recommendation/similar link to a seed makes it closer (see
  ``seed_closeness``), which ranks it higher but is not required.
- ``keyword`` (mood) categories: the item carries one of the mood words or preferred keywords
  as a TMDb keyword, or has one of the genres the moods map to (``video.moods``).

Series genres that TMDb names differently ("Sci-Fi & Fantasy", "Action & Adventure", ...)
count as their movie parts (``expand_genres``). Plain functions: no HTTP, no Dagster.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from plexrecs_assets.video.dedupe import expand_genres
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.video.moods import genres_for_moods
from plexrecs_assets.config import Category, as_category

RULE_VIOLATION = "off_topic"  # the drop reason shown in the run summary


@dataclass(frozen=True)
class SeedTerms:
    key: tuple[str, int]
    genres: frozenset[str]
    keywords: frozenset[str]


@dataclass(frozen=True)
class CategoryRules:
    category_type: str
    media_types: tuple[str, ...]
    include_genres: frozenset[str] = frozenset()
    exclude_genres: frozenset[str] = frozenset()
    avoid_keywords: frozenset[str] = frozenset()
    seeds: tuple[SeedTerms, ...] = ()
    mood_genres: frozenset[str] = frozenset()
    mood_keywords: frozenset[str] = frozenset()
    # Keys TMDb lists as a recommendation or similar title of a seed (filled while building the pool).
    seed_links: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def with_links(self, links) -> "CategoryRules":
        return replace(self, seed_links=frozenset(links) | self.seed_links)

    def to_json(self) -> dict:
        return {"type": self.category_type, "media_types": list(self.media_types),
                "include_genres_all": sorted(self.include_genres), "exclude_genres": sorted(self.exclude_genres),
                "avoid_keywords": sorted(self.avoid_keywords),
                "seed_genres": [sorted(s.genres) for s in self.seeds],
                "mood_genres": sorted(self.mood_genres), "mood_keywords": sorted(self.mood_keywords)}


def rules_for(category: "Category | dict", media_types, seeds: list[TitleFacts] = ()) -> CategoryRules:
    category = as_category(category)
    filters = category.tmdb_filters
    kind = category.type
    moods = category.moods
    mood_keywords = frozenset(k.lower() for k in moods + list(category.keywords_prefer)) \
        if kind == "keyword" else frozenset()
    return CategoryRules(
        category_type=kind,
        media_types=tuple(media_types),
        include_genres=frozenset(filters.include_genres),
        exclude_genres=frozenset(filters.exclude_genres),
        avoid_keywords=frozenset(k.lower() for k in category.keywords_avoid),
        seeds=tuple(SeedTerms(s.key, frozenset(expand_genres(s.genres)), frozenset(k.lower() for k in s.keywords))
                    for s in seeds) if kind in ("title_seed", "seed_list") else (),
        mood_genres=frozenset(genres_for_moods(moods)) if kind == "keyword" else frozenset(),
        mood_keywords=mood_keywords,
    )


def rule_violation(facts: TitleFacts, rules: CategoryRules) -> str | None:
    """Why ``facts`` breaks the category's rules, or None when it obeys all of them."""
    if facts.medium not in rules.media_types:
        return f"medium {facts.medium} not in media_types {list(rules.media_types)}"
    genres = set(expand_genres(facts.genres))
    keywords = {k.lower() for k in facts.keywords}
    missing = rules.include_genres - genres
    if missing:
        return f"lacks required genre(s) {sorted(missing)}"
    banned = rules.exclude_genres & genres
    if banned:
        return f"has excluded genre(s) {sorted(banned)}"
    avoided = rules.avoid_keywords & keywords
    if avoided:
        return f"has avoided keyword(s) {sorted(avoided)}"
    if rules.seeds:
        if facts.key in {s.key for s in rules.seeds}:
            return "is one of the seeds"
        if not any(s.genres & genres for s in rules.seeds):
            return "shares no genre with any seed"
    if rules.category_type == "keyword" and (rules.mood_genres or rules.mood_keywords):
        if not (rules.mood_keywords & keywords) and not (rules.mood_genres & genres):
            return "matches neither the mood keywords nor the mood genres"
    return None


def seed_closeness(facts: TitleFacts, rules: CategoryRules) -> float:
    """How close an item is to its seeds: shared genres count, shared keywords and a TMDb
    recommendation/similar link count more. 0 for categories without seeds."""
    if not rules.seeds:
        return 0.0
    genres = set(expand_genres(facts.genres))
    keywords = {k.lower() for k in facts.keywords}
    best = 0.0
    for seed in rules.seeds:
        shared_genres = len(seed.genres & genres)
        if not shared_genres:
            continue
        score = 1.0 * shared_genres / max(1, len(seed.genres)) + 1.5 * min(3, len(seed.keywords & keywords))
        best = max(best, score)
    if best and facts.key in rules.seed_links:
        best += 3.0
    return best
