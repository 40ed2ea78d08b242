"""TMDb lookups for one run: cached, thread-safe and rate limited.

Details are cached in SQLite (``tmdb_details_cache``) across runs; search and list pages are
memoised for the run, so no request is made twice within a run, and kept in
``tmdb_list_cache`` for ``LIST_TTL_S``, so runs close together (a retry, a manual run after
the nightly one) make none. A token bucket keeps the
request rate under TMDb's limit even when categories build their pools concurrently.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.clients.tmdb import TitleDetails, TitleSummary, TmdbClient
from plexrecs_assets.video.models import TitleFacts
from plexrecs_assets.store import caches
from plexrecs_assets.store.db import Engine


LIST_TTL_S = 12 * 3600  # TMDb's lists move slowly; a nightly run still sees today's
# Failures worth skipping one lookup for: TMDb answered 5xx/429 after the retries, dropped the
# connection or sent an odd body. A rejected key (auth) or a spent quota stays fatal.
SKIPPABLE_KINDS = {"server", "rate_limited", "unreachable", "bad_response", "client"}


class TooManyMissing(RuntimeError):
    """More TMDb lookups failed than ``tmdb.max_missing_share`` allows."""


class Misses:
    """Counts the TMDb lookups of one scope (the taste profile, one category) and the ones
    that failed for good and were skipped, so that one bad answer costs one title, not the run."""

    def __init__(self) -> None:
        self.lookups = 0
        self.failed = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable, *args, default=None, **kwargs):
        """``fn(*args, **kwargs)``, or ``default`` when TMDb failed in a skippable way."""
        with self._lock:
            self.lookups += 1
        try:
            return fn(*args, **kwargs)
        except ServiceError as exc:
            if exc.kind not in SKIPPABLE_KINDS:
                raise
            with self._lock:
                self.failed += 1
                self.last_error = str(exc)
            return default

    def check(self, max_share: float, what: str) -> None:
        """Raise ``TooManyMissing`` when more than one lookup and more than ``max_share`` of the
        lookups failed (a single failure never fails the scope, however few lookups it made)."""
        if self.failed > 1 and self.failed > max_share * self.lookups:
            raise TooManyMissing(
                f"tmdb: {self.failed} of {self.lookups} TMDb lookups for {what} failed, more than "
                f"tmdb.max_missing_share={max_share:g} allows; last error: {self.last_error}")

    def to_json(self) -> dict:
        return {"lookups": self.lookups, "failed": self.failed}


class RateLimiter:
    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def facts_from_details(d: TitleDetails) -> TitleFacts:
    return TitleFacts(
        tmdb_id=d.tmdb_id, medium=d.medium, title=d.title, year=d.year,
        original_title=d.original_title or "", genres=tuple(d.genres), keywords=tuple(d.keywords),
        imdb_id=d.imdb_id, runtime_min=d.runtime_min, vote_count=d.vote_count or 0,
        vote_average=d.vote_average or 0.0, popularity=d.popularity or 0.0, overview=d.overview or "",
        original_language=d.original_language or "", countries=tuple(d.countries or ()),
    )


class RequestMeter:
    """Counts the TMDb requests one category makes (cache hits are free), against its bound."""

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1

    @property
    def left(self) -> int:
        return max(0, self.limit - self.count) if self.limit is not None else 10 ** 9


class TmdbFacts:
    def __init__(self, client: TmdbClient, engine: Engine | None, *, max_rps: float = 35.0):
        self.client = client
        self.engine = engine
        self.limiter = RateLimiter(max_rps)
        self._memo: dict[tuple, object] = {}
        self._inflight: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()
        self.requests = 0

    # One fetch per key even when several threads ask at once.
    def _once(self, key: tuple, fetch: Callable[[], object]) -> object:
        while True:
            with self._lock:
                if key in self._memo:
                    return self._memo[key]
                event = self._inflight.get(key)
                if event is None:
                    event = self._inflight[key] = threading.Event()
                    break
            event.wait()
        try:
            value = fetch()
            with self._lock:
                self._memo[key] = value
            return value
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            event.set()

    def _call(self, fn, *args, meter: "RequestMeter | None" = None, **kwargs):
        self.limiter.wait()
        with self._lock:
            self.requests += 1
        if meter is not None:
            meter.add()
        return fn(*args, **kwargs)

    # ------------------------------------------------------------ details

    def _cached_details(self, medium: str, tmdb_id: int) -> TitleFacts | None:
        if self.engine is None:
            return None
        payload = caches.details_payload(self.engine, medium, tmdb_id)
        return TitleFacts.from_json(payload) if payload is not None else None

    def _store_details(self, facts: TitleFacts) -> None:
        if self.engine is None:
            return
        caches.store_details_payload(self.engine, facts.medium, facts.tmdb_id, facts.to_json())

    def details(self, medium: str, tmdb_id: int, meter: "RequestMeter | None" = None) -> TitleFacts | None:
        """Facts for one title, or None when TMDb does not know the id."""
        def fetch():
            cached = self._cached_details(medium, tmdb_id)
            if cached is not None:
                return cached
            try:
                facts = facts_from_details(self._call(self.client.details, tmdb_id, medium, meter=meter))
            except ServiceError as exc:
                if exc.kind == "not_found":
                    return None
                raise
            self._store_details(facts)
            return facts
        return self._once(("details", medium, int(tmdb_id)), fetch)  # type: ignore[return-value]

    def cached_many(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], TitleFacts]:
        """Facts already in the SQLite cache, read in bulk (no requests)."""
        wanted = set(keys)
        if self.engine is None or not wanted:
            return {}
        found = {key: TitleFacts.from_json(payload)
                 for key, payload in caches.details_payloads(self.engine, wanted).items()}
        with self._lock:
            for key, facts in found.items():
                self._memo.setdefault(("details", *key), facts)
        return found

    def many_details(self, keys: Iterable[tuple[str, int]], pool, misses: Misses | None = None,
                     meter: "RequestMeter | None" = None) -> dict[tuple[str, int], TitleFacts]:
        """Facts by key; with ``misses``, a title TMDb fails on is skipped and counted there."""
        keys = list(dict.fromkeys(keys))
        one = (lambda k: self.details(*k, meter=meter)) if misses is None \
            else (lambda k: misses.call(self.details, *k, meter=meter))
        results = pool.map(one, keys) if pool else map(one, keys)
        return {k: f for k, f in zip(keys, results) if f is not None}

    # ------------------------------------------------------------ lists

    def _stored_list(self, key: tuple, fetch: Callable[[], object], *, summaries: bool = True) -> object:
        """``fetch()`` once per run and at most once per ``LIST_TTL_S`` across runs (SQLite)."""
        def load():
            cache_key = json.dumps(key, ensure_ascii=False)
            cached = self._read_list(cache_key)
            if cached is not None:
                return [TitleSummary(**s) for s in cached] if summaries else cached
            value = fetch()
            self._write_list(cache_key, [asdict(s) for s in value] if summaries else value)
            return value
        return self._once(key, load)

    def _read_list(self, cache_key: str):
        if self.engine is None:
            return None
        fresh_after = (datetime.now(timezone.utc) - timedelta(seconds=LIST_TTL_S)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return caches.list_payload(self.engine, cache_key, fresh_after=fresh_after)

    def _write_list(self, cache_key: str, payload) -> None:
        if self.engine is None:
            return
        caches.store_list_payload(self.engine, cache_key, payload)

    def search(self, title: str, year: int | None, medium: str) -> list[TitleSummary]:
        return self._stored_list(("search", medium, title.casefold(), year),
                                 lambda: self._call(self.client.search_titles, title, year, medium))  # type: ignore[return-value]

    def recommendations(self, medium: str, tmdb_id: int, meter: "RequestMeter | None" = None) -> list[TitleSummary]:
        return self._stored_list(("recs", medium, tmdb_id),
                                 lambda: self._call(self.client.recommendations, tmdb_id, medium, meter=meter))  # type: ignore[return-value]

    def similar(self, medium: str, tmdb_id: int, meter: "RequestMeter | None" = None) -> list[TitleSummary]:
        return self._stored_list(("similar", medium, tmdb_id),
                                 lambda: self._call(self.client.similar, tmdb_id, medium, meter=meter))  # type: ignore[return-value]

    def discover_page(self, medium: str, page: int, *, with_genres: str | None = None,
                      without_genres: str | None = None, with_keywords: str | None = None,
                      meter: "RequestMeter | None" = None) -> tuple[list[TitleSummary], int]:
        """(results, total_pages) of one discover page; cached like the other lists."""
        key = ("discover_page", medium, with_genres, without_genres, with_keywords, page)

        def fetch():
            rows, total = self._call(self.client.discover_page, medium, page, with_genres=with_genres,
                                     without_genres=without_genres, with_keywords=with_keywords, meter=meter)
            return {"results": [asdict(r) for r in rows], "total_pages": total}
        doc = self._stored_list(key, fetch, summaries=False)
        return [TitleSummary(**r) for r in doc["results"]], int(doc["total_pages"])  # type: ignore[index]

    def discover(self, medium: str, *, with_genres: str | None, without_genres: str | None,
                 with_keywords: str | None, page: int = 1) -> list[TitleSummary]:
        key = ("discover", medium, with_genres, without_genres, with_keywords, page)
        return self._stored_list(key, lambda: self._call(
            self.client.discover, medium, with_genres=with_genres, without_genres=without_genres,
            with_keywords=with_keywords, page=page))  # type: ignore[return-value]

    def genre_ids(self, medium: str) -> dict[str, int]:
        return self._stored_list(("genres", medium), lambda: self._call(self.client.genres, medium),
                                 summaries=False)  # type: ignore[return-value]

    def keyword_ids(self, names: Iterable[str]) -> list[int]:
        ids: list[int] = []
        for name in names:
            found = self._stored_list(("keyword", name.casefold()),
                                      lambda n=name: self._call(self.client.keyword_ids, [n]), summaries=False)
            ids.extend(i for i in found if i not in ids)  # type: ignore[union-attr]
        return ids
