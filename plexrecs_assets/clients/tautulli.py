"""Tautulli API v2 client: watch history, users and item metadata (external ids)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

import httpx

from plexrecs_assets.clients.base import CheckResult, HttpClient, RetryPolicy, ServiceError
from plexrecs_assets.clients.guids import parse_guids


# One page per window of days (see ``iter_history``); a real Tautulli answers a 5,000-row
# page from offset 0 in well under a second.
HISTORY_PAGE_SIZE = 5000
INITIAL_WINDOW_DAYS = 30
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True)
class ExternalIds:
    """External ids of one played item. For an episode the ``show_*`` ids are the show's
    (from ``grandparent_guids``); for a movie they are None."""

    rating_key: str
    media_type: str | None
    tmdb_id: int | None = None
    imdb_id: str | None = None
    tvdb_id: int | None = None
    show_tmdb_id: int | None = None
    show_imdb_id: str | None = None
    show_tvdb_id: int | None = None

    @property
    def recommendable_tmdb_id(self) -> int | None:
        """The id a recommender wants: the movie's, or for an episode its show's."""
        return self.show_tmdb_id if self.media_type == "episode" else self.tmdb_id


def external_ids_from_metadata(rating_key: str, meta: dict[str, Any]) -> ExternalIds:
    own = parse_guids(meta.get("guids") or [])
    media_type = meta.get("media_type") or None
    if media_type == "episode":
        show = parse_guids(meta.get("grandparent_guids") or [])
        return ExternalIds(str(rating_key), media_type, own.tmdb_id, own.imdb_id, own.tvdb_id,
                           show.tmdb_id, show.imdb_id, show.tvdb_id)
    if not meta.get("guids") and meta.get("guid"):
        own = parse_guids([meta["guid"]])  # legacy agents: only the agent guid carries the id
    return ExternalIds(str(rating_key), media_type, own.tmdb_id, own.imdb_id, own.tvdb_id)


class TautulliClient(HttpClient):
    service = "tautulli"

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        base_url = base_url.rstrip("/")
        if base_url.endswith("/api/v2"):
            base_url = base_url[: -len("/api/v2")]
        super().__init__(base_url, timeout_s=timeout_s, retry=retry, params={"apikey": api_key},
                         secrets=[api_key], transport=transport)

    def classify(self, response: httpx.Response) -> str | None:
        # Tautulli rewrites every non-500 error, including a bad key, to HTTP 400 with its envelope.
        if response.status_code == 400 and "apikey" in response.text.lower():
            return "auth"
        if 400 <= response.status_code < 500 and response.status_code != 429 and not _has_envelope(response):
            return "bad_response"  # some other server (or a proxy) answered: most likely a wrong URL
        return super().classify(response)

    def call(self, cmd: str, *, attempts: int | None = None, **params: Any) -> Any:
        """Run one API command and return the envelope's ``data``."""
        query = {"cmd": cmd, **{k: v for k, v in params.items() if v is not None}}
        response, body = self.request_json("GET", "/api/v2", params=query, attempts=attempts)
        envelope = body.get("response") if isinstance(body, dict) else None
        if not isinstance(envelope, dict):
            raise self._error(str(response.request.url), "bad_response",
                              f"no 'response' envelope in reply to cmd={cmd}", response.status_code)
        if envelope.get("result") != "success":
            message = envelope.get("message") or "unknown error"
            kind = "auth" if "apikey" in str(message).lower() else "client"
            raise self._error(str(response.request.url), kind, f"cmd={cmd}: {message}", response.status_code)
        return envelope.get("data")

    def get_history(self, after: date | None = None, *, media_types: Iterable[str] = ("movie", "episode"),
                    user_id: int | str | None = None, page_size: int = HISTORY_PAGE_SIZE,
                    grouping: bool = True) -> list[dict]:
        """Every history row matching the filters (``after`` is inclusive), all pages."""
        return list(self.iter_history(after, media_types=media_types, user_id=user_id, page_size=page_size,
                                      grouping=grouping))

    def iter_history(self, after: date | None = None, *, media_types: Iterable[str] = ("movie", "episode"),
                     user_id: int | str | None = None, page_size: int = HISTORY_PAGE_SIZE,
                     grouping: bool = True, today: date | None = None) -> Iterator[dict]:
        """``get_history`` one window of days at a time, so a huge history never sits in memory whole.

        A real Tautulli builds every page with SQL ``LIMIT/OFFSET``: the rows before the offset
        are produced and thrown away, so paging 100,000 plays 1,000 at a time took 251 s
        (v2.17.2). Instead the history is read in windows of days (``after``/``before``, both
        inclusive), each sized to hold about one page, so offsets stay near 0. ``after=None``
        reads from the first play on."""
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size!r}")
        filters = {
            "media_type": ",".join(media_types) if media_types else None,
            "user_id": user_id,
            "grouping": int(grouping),
            # oldest first, so rows played while we page append at the end instead of shifting pages
            "order_column": "date",
            "order_dir": "asc",
        }
        today = today or date.today()
        cursor = after or self._first_play_day(filters)
        if cursor is None:
            return
        seen: set[Any] = set()
        span = INITIAL_WINDOW_DAYS
        while True:
            last = cursor + timedelta(days=span - 1)
            # The last window has no upper bound: the server's "today" may be ahead of ours.
            open_ended = last >= today
            count = yield from self._read_days(filters, cursor, None if open_ended else last, page_size, seen, today)
            if open_ended:
                return
            cursor = last + timedelta(days=1)
            # Aim the next window at about one page, growing or shrinking at most 4x per step.
            wanted = span * page_size / count if count else span * 4
            span = int(max(1, min(MAX_WINDOW_DAYS, span * 4, max(span / 4, wanted))))

    def _first_play_day(self, filters: dict) -> date | None:
        data = self._history_page(filters, 0, 1)
        rows = [r for r in data["data"] if isinstance(r, dict)]
        started = _as_int(rows[0].get("started") or rows[0].get("date")) if rows else None
        if started is None:
            return None
        # A day early: the server counts days in its own time zone.
        return datetime.fromtimestamp(started, timezone.utc).date() - timedelta(days=1)

    def _read_days(self, filters: dict, first: date, last: date | None, page_size: int, seen: set,
                   today: date) -> Iterator[dict]:
        """Every row played from day ``first`` to ``last`` (None: no upper bound).

        Returns how many rows the server says the days hold. Days holding more than two pages
        are split in halves (the first page, read again, is dropped as already seen); only a
        single day that large is paged by offset."""
        query = {**filters, "after": first.isoformat(), "before": last.isoformat() if last else None}
        data = self._history_page(query, 0, page_size)
        yield from _unseen(data["data"], seen)
        start = len(data["data"])
        total = _as_int(data.get("recordsFiltered"))
        if not data["data"] or total is None or start >= total:
            return total or start
        bounded_last = last if last is not None else today
        if total > 2 * page_size and bounded_last > first:
            middle = first + (bounded_last - first) // 2
            yield from self._read_days(filters, first, middle, page_size, seen, today)
            yield from self._read_days(filters, middle + timedelta(days=1), last, page_size, seen, today)
            return total
        if total > 2 * page_size and last is None and first <= today:
            yield from self._read_days(filters, first, today, page_size, seen, today)
            yield from self._read_days(filters, today + timedelta(days=1), None, page_size, seen, today)
            return total
        while start < total:
            data = self._history_page(query, start, page_size)
            if not data["data"]:
                break
            yield from _unseen(data["data"], seen)
            start += len(data["data"])
        return total

    def _history_page(self, query: dict, start: int, length: int) -> dict:
        data = self.call("get_history", start=start, length=length, **query)
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ServiceError(self.service, f"{self.base_url}/api/v2", "bad_response",
                               "get_history: 'data' is not a table")
        return data

    def get_users(self) -> list[dict]:
        data = self.call("get_users")
        return list(data) if isinstance(data, list) else []

    def listed_user_ids(self) -> set[int]:
        """Ids of the users Tautulli lists. A deleted user is not listed, though its plays stay
        in the history; they must not count."""
        return {uid for u in self.get_users() if isinstance(u, dict)
                for uid in [_as_int(u.get("user_id"))] if uid is not None}

    def get_metadata(self, rating_key: int | str) -> dict:
        """Item metadata; ``{}`` when Tautulli/Plex no longer knows the rating key."""
        data = self.call("get_metadata", rating_key=str(rating_key))
        return data if isinstance(data, dict) else {}

    def external_ids(self, rating_key: int | str) -> ExternalIds:
        return external_ids_from_metadata(str(rating_key), self.get_metadata(rating_key))

    def check(self) -> CheckResult:
        def probe() -> str:
            users = self.call("get_users", attempts=2)
            count = sum(1 for u in users if not is_local_user(u)) if isinstance(users, list) else 0
            return f"tautulli reachable, API key accepted ({count} users)"

        return self.run_check(probe, auth_fix="bad API key: copy it from Tautulli Settings > Web Interface > API",
                              not_found_fix="wrong URL? give Tautulli's root URL, e.g. http://host:8181")


def is_local_user(user: Any) -> bool:
    """Tautulli's built-in "Local" user (id 0) for unauthenticated local plays: not a person."""
    return isinstance(user, dict) and (_as_int(user.get("user_id")) == 0 or user.get("username") == "Local")


def _unseen(page: list, seen: set) -> Iterator[Any]:
    for row in page:
        key = _row_key(row)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        # Odd rows (``null``, a list ``row_id``) go on to the roll-up, which skips and counts them.
        yield row


def _row_key(row: Any) -> int | str | None:
    """The row id to drop repeats by; None for a row without a usable one."""
    if not isinstance(row, dict):
        return None
    key = row.get("row_id", row.get("id"))
    return key if isinstance(key, (int, str)) and not isinstance(key, bool) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _has_envelope(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("response"), dict)
