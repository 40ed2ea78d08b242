"""Taste profile: what the household likes, long-term and lately.

``recency_weight`` (0..1) balances the two: 0 = only long-term taste, 1 = only what was
watched recently. Every entry carries TMDb genres and keywords so prompts, candidate
pools and the final ranking can reason about them.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from plexrecs_assets.video.history import WatchedTitle
from plexrecs_assets.video.models import TitleFacts

RECENT_HALF_LIFE_DAYS = 21.0


@dataclass
class TasteEntry:
    title: str
    year: int | None
    medium: str
    tmdb_id: int | None
    weight: float
    signal: float
    last_watched: int
    genres: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass
class TasteProfile:
    top_likes: list[TasteEntry]
    recent_watches: list[TasteEntry]
    dislikes: list[TasteEntry]
    genre_weights: dict[str, float]
    keyword_weights: dict[str, float]
    recency_weight: float
    seen: list[dict] = field(default_factory=list)  # {"title","year","medium","tmdb_id"}

    @property
    def top_genres(self) -> list[str]:
        return [g for g, _ in sorted(self.genre_weights.items(), key=lambda kv: -kv[1])[:3]]

    @property
    def top_keywords(self) -> list[str]:
        return [k for k, _ in sorted(self.keyword_weights.items(), key=lambda kv: -kv[1])[:15]]

    def affinity(self, facts: TitleFacts) -> float:
        """How well a title fits this household (0 = no overlap). Used to rank pool fills."""
        genre = sum(self.genre_weights.get(g, 0.0) for g in facts.genres)
        keyword = sum(self.keyword_weights.get(k, 0.0) for k in facts.keywords)
        return genre + 0.5 * keyword

    def for_prompt(self) -> dict:
        return {
            "top_likes": [e.label() for e in self.top_likes],
            "recent_watches": [e.label() for e in self.recent_watches],
            "top_genres": self.top_genres,
            "top_keywords": self.top_keywords,
            "dislikes": [e.label() for e in self.dislikes[:5]],
        }


def build_taste_profile(
    watched: list[WatchedTitle],
    facts: dict[tuple[str, int], TitleFacts],
    *,
    now: float,
    recency_weight: float,
    top_n: int = 15,
    recent_n: int = 10,
) -> TasteProfile:
    entries: list[TasteEntry] = []
    genre_long: Counter = Counter()
    genre_recent: Counter = Counter()
    kw_long: Counter = Counter()
    kw_recent: Counter = Counter()
    for item in watched:
        signal = item.signal(now)
        age_days = max(0.0, (now - item.last_watched) / 86400)
        recency = math.pow(0.5, age_days / RECENT_HALF_LIFE_DAYS)
        weight = signal * ((1 - recency_weight) + recency_weight * recency * 2)
        f = facts.get((item.medium, item.tmdb_id)) if item.tmdb_id else None
        genres = f.genres if f else ()
        keywords = f.keywords if f else ()
        entries.append(TasteEntry(
            title=f.title if f else item.title, year=(f.year if f else item.year), medium=item.medium,
            tmdb_id=item.tmdb_id, weight=weight, signal=signal, last_watched=item.last_watched,
            genres=genres, keywords=keywords,
        ))
        for g in genres:
            genre_long[g] += signal
            genre_recent[g] += signal * recency
        for k in keywords:
            kw_long[k] += signal
            kw_recent[k] += signal * recency

    def blend(long: Counter, recent: Counter) -> dict[str, float]:
        long_total = sum(abs(v) for v in long.values()) or 1.0
        recent_total = sum(abs(v) for v in recent.values()) or 1.0
        keys = set(long) | set(recent)
        blended = {k: (1 - recency_weight) * long[k] / long_total + recency_weight * recent[k] / recent_total for k in keys}
        return {k: round(v, 5) for k, v in blended.items() if v > 0}

    positives = [e for e in entries if e.signal > 0]
    top_likes = sorted(positives, key=lambda e: (-e.weight, -e.last_watched))[:top_n]
    recent = sorted(positives, key=lambda e: -e.last_watched)[:recent_n]
    dislikes = sorted((e for e in entries if e.signal < 0), key=lambda e: e.signal)
    seen = [{"title": e.title, "year": e.year, "medium": e.medium, "tmdb_id": e.tmdb_id} for e in entries]
    return TasteProfile(
        top_likes=top_likes, recent_watches=recent, dislikes=dislikes,
        genre_weights=blend(genre_long, genre_recent), keyword_weights=blend(kw_long, kw_recent),
        recency_weight=recency_weight, seen=seen,
    )


@dataclass
class PersonTaste:
    """One person's taste and what they have watched, from their own plays only.

    ``watched`` holds every title they played (any medium); ``continuing`` the shows among them
    they started and have not finished (nor dropped): "watch next" may offer those, nothing else
    they watched."""

    user_key: str
    profile: TasteProfile
    watched: set[tuple[str, int]] = field(default_factory=set)
    continuing: set[tuple[str, int]] = field(default_factory=set)

    def seen_for(self, mode: str) -> set[tuple[str, int]]:
        return self.watched - self.continuing if mode == "library" else set(self.watched)


def person_taste(user_key: str, watched: list[WatchedTitle], facts: dict[tuple[str, int], TitleFacts], *,
                 now: float, recency_weight: float, leaf_counts: dict[tuple[str, int], int]) -> PersonTaste:
    """``leaf_counts`` (a show's episodes in the library) tells a finished show from one in progress."""
    profile = build_taste_profile(watched, facts, now=now, recency_weight=recency_weight)
    keys: set[tuple[str, int]] = set()
    continuing: set[tuple[str, int]] = set()
    for title in watched:
        if not title.tmdb_id:
            continue
        key = (title.medium, title.tmdb_id)
        keys.add(key)
        if title.medium == "tv" and title.signal(now) > 0:
            episodes = leaf_counts.get(key)
            if episodes and len(title.completed_episodes) < episodes:
                continuing.add(key)
    return PersonTaste(user_key=user_key, profile=profile, watched=keys, continuing=continuing)
