"""Watch history: Tautulli rows → one entry per watched title, with a signal strength.

Episodes roll up to their show. A completed play is a strong positive signal, a partial one
a weaker one; a show the household started and dropped is a negative signal.
Rows with missing or odd fields are skipped and counted, never fatal.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from plexrecs_assets.clients.guids import parse_guids

COMPLETED_PERCENT = 85
PARTIAL_MIN_PERCENT = 10
ABANDONED_MAX_EPISODES = 2
ABANDONED_IDLE_DAYS = 21
# A movie stopped before this share, and not resumed for a couple of days, was abandoned:
# a negative signal (the person chose not to finish it), not a weak like.
ABANDONED_MOVIE_PERCENT = 30
ABANDONED_MOVIE_IDLE_DAYS = 2


@dataclass
class WatchedTitle:
    medium: str  # "movie" | "tv"
    title: str
    year: int | None
    rating_key: str  # the movie's or the show's rating key
    tmdb_id: int | None = None
    tvdb_id: int | None = None  # a show's, from a legacy-agent episode guid (thetvdb://<show>/<s>/<e>)
    plays: int = 0
    completed_plays: int = 0
    episodes: set = field(default_factory=set)
    completed_episodes: set = field(default_factory=set)
    max_percent: int = 0
    last_watched: int = 0  # epoch seconds
    first_watched: int = 0
    users: set = field(default_factory=set)

    def signal(self, now: float) -> float:
        """+1.0 = loved (completed, rewatched or binged), small = sampled, negative = dropped."""
        if self.medium == "movie":
            if self.completed_plays:
                return 1.0 + 0.25 * min(self.completed_plays - 1, 2)  # rewatches count extra
            if self.max_percent < ABANDONED_MOVIE_PERCENT and (now - self.last_watched) / 86400 > ABANDONED_MOVIE_IDLE_DAYS:
                return -0.4
            return 0.5 if self.max_percent >= 50 else 0.2
        done = len(self.completed_episodes)
        idle_days = (now - self.last_watched) / 86400
        if done <= ABANDONED_MAX_EPISODES and self.max_percent < COMPLETED_PERCENT + 1 and idle_days > ABANDONED_IDLE_DAYS:
            return -0.6 if done <= 1 else -0.3
        return min(1.5, 0.25 + 0.15 * done)

    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


@dataclass
class HistoryRollup:
    titles: dict[tuple[str, str], WatchedTitle]
    rows_read: int
    skipped: Counter
    # Each person's own rollup, by Tautulli user_id: their plays only, so completion (a show
    # they dropped is negative) is judged per person, not across the household.
    by_user: dict[int, dict[tuple[str, str], WatchedTitle]] = field(default_factory=dict)

    def as_list(self) -> list[WatchedTitle]:
        return sorted(self.titles.values(), key=lambda t: t.last_watched, reverse=True)

    def user_list(self, user_id: int) -> list[WatchedTitle]:
        return sorted(self.by_user.get(user_id, {}).values(), key=lambda t: t.last_watched, reverse=True)


def _as_int(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def _text(value) -> str:
    """Tautulli sends titles as strings; a number (a title like 1917) reads as text, anything else as missing."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def roll_up_history(rows: Iterable[Mapping], *, rating_key_tmdb: Mapping[str, int] | None = None,
                    user_ids: set[int] | None = None) -> HistoryRollup:
    """Aggregate Tautulli ``get_history`` rows per movie / per show.

    ``rating_key_tmdb`` maps Plex rating keys (from the inventory scan) to TMDb ids so most
    titles need no extra lookup.
    """
    rating_key_tmdb = rating_key_tmdb or {}
    titles: dict[tuple[str, str], WatchedTitle] = {}
    by_user: dict[int, dict[tuple[str, str], WatchedTitle]] = {}
    skipped: Counter = Counter()
    read = 0
    for row in rows:
        read += 1
        if not isinstance(row, Mapping):
            skipped["not_a_row"] += 1
            continue
        row_id = row.get("row_id", row.get("id"))
        if row_id is not None and _as_int(row_id) is None:
            skipped["bad_row_id"] += 1  # e.g. a list: not a row Tautulli's table produced
            continue
        media_type = row.get("media_type")
        if media_type not in ("movie", "episode"):
            skipped[f"media_type:{media_type}"] += 1
            continue
        user_id = _as_int(row.get("user_id"))
        if user_ids is not None and user_id not in user_ids:
            skipped["other_user"] += 1
            continue
        started = _as_int(row.get("date")) or _as_int(row.get("started"))
        percent = _as_int(row.get("percent_complete")) or 0
        if started is None:
            skipped["no_date"] += 1
            continue
        if media_type == "movie":
            key = _as_int(row.get("rating_key"))
            title = _text(row.get("title")) or _text(row.get("full_title"))
            year = _as_int(row.get("year"))
            medium = "movie"
        else:
            key = _as_int(row.get("grandparent_rating_key"))
            title = _text(row.get("grandparent_title"))
            # An episode row's year is the episode's; a season-1 episode's is the show's first
            # air year (±1), which title resolution needs once the show has left Plex.
            year = _as_int(row.get("year")) if _as_int(row.get("parent_media_index")) == 1 else None
            medium = "tv"
        if not title or key is None:
            skipped["missing_title_or_key"] += 1
            continue
        completed = percent >= COMPLETED_PERCENT or (_float(row.get("watched_status")) or 0) >= 1
        targets = [titles] + ([by_user.setdefault(user_id, {})] if user_id is not None else [])
        for target in targets:  # the household's rollup, and the person's own
            _add_play(target, row, medium=medium, key=str(key), title=title, year=year, started=started,
                      percent=percent, completed=completed, user_id=user_id,
                      rating_key_tmdb=rating_key_tmdb)
    return HistoryRollup(titles=titles, rows_read=read, skipped=skipped, by_user=by_user)


def _add_play(titles: dict, row: Mapping, *, medium: str, key: str, title: str, year: int | None, started: int,
              percent: int, completed: bool, user_id: int | None, rating_key_tmdb: Mapping[str, int]) -> None:
    entry = titles.get((medium, key))
    if entry is None:
        entry = titles[(medium, key)] = WatchedTitle(
            medium=medium, title=title, year=year, rating_key=key,
            tmdb_id=rating_key_tmdb.get(key), first_watched=started,
        )
    if medium == "tv":
        if year is not None and (entry.year is None or year < entry.year):
            entry.year = year
        guid = row.get("guid")
        if entry.tvdb_id is None and isinstance(guid, str) and "thetvdb://" in guid:
            entry.tvdb_id = parse_guids([guid]).tvdb_id
    entry.plays += 1
    if medium == "movie":
        entry.completed_plays += int(completed)
    else:
        episode = (_as_int(row.get("parent_media_index")), _as_int(row.get("media_index")), _as_int(row.get("rating_key")))
        entry.episodes.add(episode)
        if completed:
            entry.completed_episodes.add(episode)
    entry.max_percent = max(entry.max_percent, percent)
    entry.last_watched = max(entry.last_watched, started)
    entry.first_watched = min(entry.first_watched, started)
    if user_id is not None:
        entry.users.add(user_id)


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fill_missing_tmdb_ids(rollup: HistoryRollup, lookup: Callable[[WatchedTitle], int | None]) -> int:
    """Resolve titles the inventory could not map (e.g. removed from Plex); returns how many."""
    resolved = 0
    for entry in rollup.titles.values():
        if entry.tmdb_id is None:
            entry.tmdb_id = lookup(entry)
            resolved += entry.tmdb_id is not None
    return resolved


def enrichment_order(titles: Iterable[WatchedTitle], now: float) -> list[WatchedTitle]:
    """The order to fetch TMDb details in when a run can fetch only some: the most recent and
    the most loved titles alternately (recent watches and top likes are what the profile is
    made of), then everything else. Later runs continue down the same list as the cache fills."""
    titles = list(titles)
    recent = sorted(titles, key=lambda t: -t.last_watched)
    loved = sorted(titles, key=lambda t: (-t.signal(now), -t.plays, -t.last_watched))
    order: dict[int, WatchedTitle] = {}
    for pair in zip(recent, loved):
        for title in pair:
            order.setdefault(id(title), title)
    return list(order.values())
