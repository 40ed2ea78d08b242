"""TMDb lookups for one run: cached, thread-safe and rate limited.

Details are cached in SQLite (``tmdb_details_cache``) across runs; search and list pages are
memoised for the run, so no request is made twice within a run. A token bucket keeps the
request rate under TMDb's limit even when categories build their pools concurrently.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Callable, Iterable

from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.clients.tmdb import TitleDetails, TitleSummary, TmdbClient
from plexrecs_assets.core.models import TitleFacts
from plexrecs_assets.core.store.db import utcnow_iso
from plexrecs_assets.core.store.schema import tmdb_details_cache


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

    def _call(self, fn, *args, **kwargs):
        self.limiter.wait()
        with self._lock:
            self.requests += 1
        return fn(*args, **kwargs)

    # ------------------------------------------------------------ details

    def _cached_details(self, medium: str, tmdb_id: int) -> TitleFacts | None:
        if self.engine is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tmdb_details_cache.c.payload).where(
                    tmdb_details_cache.c.tmdb_id == tmdb_id, tmdb_details_cache.c.media_type == medium)
            ).first()
        return TitleFacts.from_json(json.loads(row[0])) if row else None

    def _store_details(self, facts: TitleFacts) -> None:
        if self.engine is None:
            return
        stmt = sqlite_insert(tmdb_details_cache).values(
            tmdb_id=facts.tmdb_id, media_type=facts.medium, payload=json.dumps(facts.to_json()),
            fetched_at=utcnow_iso())
        stmt = stmt.on_conflict_do_update(
            index_elements=["tmdb_id", "media_type"],
            set_={"payload": stmt.excluded.payload, "fetched_at": stmt.excluded.fetched_at})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def details(self, medium: str, tmdb_id: int) -> TitleFacts | None:
        """Facts for one title, or None when TMDb does not know the id."""
        def fetch():
            cached = self._cached_details(medium, tmdb_id)
            if cached is not None:
                return cached
            try:
                facts = facts_from_details(self._call(self.client.details, tmdb_id, medium))
            except ServiceError as exc:
                if exc.kind == "not_found":
                    return None
                raise
            self._store_details(facts)
            return facts
        return self._once(("details", medium, int(tmdb_id)), fetch)  # type: ignore[return-value]

    def many_details(self, keys: Iterable[tuple[str, int]], pool) -> dict[tuple[str, int], TitleFacts]:
        keys = list(dict.fromkeys(keys))
        results = pool.map(lambda k: self.details(*k), keys) if pool else map(lambda k: self.details(*k), keys)
        return {k: f for k, f in zip(keys, results) if f is not None}

    # ------------------------------------------------------------ lists

    def search(self, title: str, year: int | None, medium: str) -> list[TitleSummary]:
        return self._once(("search", medium, title.casefold(), year),
                          lambda: self._call(self.client.search_titles, title, year, medium))  # type: ignore[return-value]

    def recommendations(self, medium: str, tmdb_id: int) -> list[TitleSummary]:
        return self._once(("recs", medium, tmdb_id),
                          lambda: self._call(self.client.recommendations, tmdb_id, medium))  # type: ignore[return-value]

    def similar(self, medium: str, tmdb_id: int) -> list[TitleSummary]:
        return self._once(("similar", medium, tmdb_id),
                          lambda: self._call(self.client.similar, tmdb_id, medium))  # type: ignore[return-value]

    def discover(self, medium: str, *, with_genres: str | None, without_genres: str | None,
                 with_keywords: str | None, page: int = 1) -> list[TitleSummary]:
        key = ("discover", medium, with_genres, without_genres, with_keywords, page)
        return self._once(key, lambda: self._call(
            self.client.discover, medium, with_genres=with_genres, without_genres=without_genres,
            with_keywords=with_keywords, page=page))  # type: ignore[return-value]

    def genre_ids(self, medium: str) -> dict[str, int]:
        return self._once(("genres", medium), lambda: self._call(self.client.genres, medium))  # type: ignore[return-value]

    def keyword_ids(self, names: Iterable[str]) -> list[int]:
        ids: list[int] = []
        for name in names:
            found = self._once(("keyword", name.casefold()), lambda n=name: self._call(self.client.keyword_ids, [n]))
            ids.extend(i for i in found if i not in ids)  # type: ignore[union-attr]
        return ids
