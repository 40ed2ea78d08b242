"""Filtering resolved items: owned, seen, recently recommended, out of scope, duplicates."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from plexrecs_assets.video.models import TitleFacts

RECENT_DAYS = 60

# Reasons an item is dropped, in the order they are checked (shown in the run summary).
DROP_REASONS = (
    "unresolved", "duplicate", "media_type", "in_inventory", "already_seen",
    "recently_recommended", "genre_filter", "not_in_library", "off_topic",
)


@dataclass
class Exclusions:
    """What must never be published for one category."""

    inventory: set[tuple[str, int]] = field(default_factory=set)
    seen: set[tuple[str, int]] = field(default_factory=set)
    recently_recommended: set[tuple[str, int]] = field(default_factory=set)


def genre_filter_reason(facts: TitleFacts, include: list[str], exclude: list[str]) -> str | None:
    """Legacy genre filter ("at least one of" the include genres). The pipeline applies the
    category rules instead (``video/rules.py``: *all* of ``include_genres``).

    TMDb names some genres differently for series ("Sci-Fi & Fantasy", "Action & Adventure",
    "War & Politics"); a movie genre name also matches its series counterpart.
    """
    genres = set(expand_genres(facts.genres))
    if exclude and genres & set(exclude):
        return f"has excluded genre {sorted(genres & set(exclude))}"
    if include and not genres & set(include):
        return f"none of the genres {include}"
    return None


_SERIES_GENRE_PARTS = {
    "Sci-Fi & Fantasy": ("Science Fiction", "Fantasy"),
    "Action & Adventure": ("Action", "Adventure"),
    "War & Politics": ("War",),
    "Kids": ("Family",),
}


def expand_genres(genres) -> list[str]:
    out = list(genres)
    for g in genres:
        out.extend(_SERIES_GENRE_PARTS.get(g, ()))
    return out


def exclusion_reason(facts: TitleFacts, excl: Exclusions, *, media_types: list[str],
                     include_genres: list[str], exclude_genres: list[str]) -> str | None:
    key = facts.key
    if facts.medium not in media_types:
        return "media_type"
    if key in excl.inventory:
        return "in_inventory"
    if key in excl.seen:
        return "already_seen"
    if key in excl.recently_recommended:
        return "recently_recommended"
    if genre_filter_reason(facts, include_genres, exclude_genres):
        return "genre_filter"
    return None


def count_reasons(reasons: list[str]) -> dict[str, int]:
    counts = Counter(reasons)
    return {reason: counts[reason] for reason in sorted(counts)}
