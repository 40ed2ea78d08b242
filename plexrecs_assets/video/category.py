"""The engine-neutral shapes of one category's recommendation: its context (rules, exclusions,
rotation), the token budget and usage of a run, and what each step produces (``Prepared`` for
raw_recs, ``Resolution`` for resolved_recs). Every engine (``engines/__init__.py``) shares them."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from plexrecs_assets.clients.llm import LlmAnswer
from plexrecs_assets.video.dedupe import Exclusions
from plexrecs_assets.video.models import Candidate, TitleFacts
from plexrecs_assets.video.rotation import RotationPolicy
from plexrecs_assets.video.rules import RULE_VIOLATION, CategoryRules, rule_violation, rules_for
from plexrecs_assets.video.taste import TasteProfile
from plexrecs_assets.video.tmdb_facts import Misses, TooManyMissing
from plexrecs_assets.config import Category, as_category

SEEN_IN_PROMPT = 150  # cap the already_seen list so prompts stay small
DEFAULT_MAX_MISSING_SHARE = 0.2  # tmdb.max_missing_share


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
    category: Category  # a dict is validated into one (tests)
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
    continuing: set = field(default_factory=set)  # shows the viewer is part-way through (library mode)

    def __post_init__(self) -> None:
        self.category = as_category(self.category)

    @property
    def label(self) -> str:
        return self.category.label

    @property
    def mode(self) -> str:
        return self.category.mode

    @property
    def max_tmdb_requests(self) -> int:
        return self.category.max_tmdb_requests

    @property
    def now_iso(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def include_genres(self) -> list[str]:
        return list(self.category.tmdb_filters.include_genres)

    @property
    def exclude_genres(self) -> list[str]:
        return list(self.category.tmdb_filters.exclude_genres)

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


def check_missing(misses: Misses, max_share: float, what: str) -> None:
    try:
        misses.check(max_share, what)
    except TooManyMissing as exc:
        raise CategoryFailed(str(exc)) from None



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

