"""Rotation policy: which of yesterday's picks stay in a collection today.

A Plex household wants a collection that is stable enough to browse and changes when it has
a reason to. So a pick stays until one of these happens:

- someone watched it (it is now in the watch history);
- someone gave feedback on it (``feedback`` keys; nothing produces feedback yet, the hook is here);
- it is ``max_age_days`` old (days since it entered the collection; default 7);
- it no longer obeys the category's rules, is owned now, or TMDb no longer knows it.

Once a pick has left it may not come back within ``COOLDOWN_DAYS`` (the spec's 60-day rule);
that part is enforced by the exclusions (``recommendation_history.last_seen_at``) and the
``resolved_not_recent`` check. Plain functions: no HTTP, no Dagster.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from plexrecs_assets.config import Category, as_category

DEFAULT_MAX_AGE_DAYS = 7
COOLDOWN_DAYS = 60


@dataclass(frozen=True)
class RotationPolicy:
    max_age_days: int = DEFAULT_MAX_AGE_DAYS

    @classmethod
    def from_category(cls, category: "Category | dict") -> "RotationPolicy":
        return cls(max_age_days=as_category(category).rotation.max_age_days)


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def age_days(since: str, now: datetime) -> float:
    return (now - parse_iso(since)).total_seconds() / 86400


def split_current(current: list[dict], *, now: datetime, policy: RotationPolicy,
                  leave_reason: Callable[[dict], str | None],
                  feedback: set[tuple[str, int]] = frozenset()) -> tuple[list[dict], list[dict]]:
    """(picks that stay, picks that leave with a ``leave_reason``) from the collection's
    current items (each with ``medium``, ``tmdb_id`` and ``since``, an ISO UTC time)."""
    kept, left = [], []
    for item in current:
        key = (item["medium"], item["tmdb_id"])
        reason = leave_reason(item)
        if reason is None and key in feedback:
            reason = "feedback"
        if reason is None and age_days(item["since"], now) >= policy.max_age_days:
            reason = f"max_age_days={policy.max_age_days} reached"
        if reason:
            left.append({**item, "left_because": reason})
        else:
            kept.append(item)
    return kept, left
