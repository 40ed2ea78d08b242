"""In-memory stand-ins for the service resources, for fast ``materialize()`` tests of the
assets (no HTTP, no emulator). They subclass the real resources, so an asset sees the same
interface: ``resource.client()`` is a context manager whose methods answer like the real
client's. Their data is JSON in string fields, because Dagster re-creates resources from
their config fields.

    materialize([watch_history], resources={"settings": ..., "tautulli": FakeTautulliResource(
        history_json=json.dumps(rows), users_json=json.dumps([{"user_id": 1}]))})

The emulators (``plexrecs_emulators``) stay for the integration tests: real HTTP, faults.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

from plexrecs_assets.clients.base import ServiceError
from plexrecs_assets.clients.llm import LlmAnswer
from plexrecs_assets.clients.overseerr import MediaStatus, RequestOutcome
from plexrecs_assets.clients.plex import InventoryScan, PlexItem
from plexrecs_assets.clients.tautulli import ExternalIds
from plexrecs_assets.clients.tmdb import TitleDetails, TitleSummary
from plexrecs_assets.defs.shared.resources import LlmResource, OverseerrResource, PlexResource, TautulliResource, TmdbResource


class _FakeClient:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def close(self) -> None:
        return None


class FakeTautulliClient(_FakeClient):
    def __init__(self, rows: list, users: list[dict]):
        self.rows, self.users = rows, users

    def listed_user_ids(self) -> set[int]:
        return {int(u["user_id"]) for u in self.users if u.get("user_id") is not None}

    def get_users(self) -> list[dict]:
        return [dict(u) for u in self.users]

    def iter_history(self, after: date | None = None, **_filters):
        for row in self.rows:
            started = row.get("date") if isinstance(row, dict) else None
            if after is not None and isinstance(started, int) and \
                    datetime.fromtimestamp(started, timezone.utc).date() < after:
                continue
            yield row

    def get_history(self, after: date | None = None, **filters) -> list:
        return list(self.iter_history(after, **filters))

    def external_ids(self, rating_key) -> ExternalIds:
        return ExternalIds(rating_key=str(rating_key), media_type=None)


class FakeTautulliResource(TautulliResource):
    base_url: str = "http://tautulli.invalid"
    api_key: str = "fake-tautulli-key"
    history_json: str = "[]"  # get_history rows, as Tautulli returns them
    users_json: str = "[]"  # get_users rows ({"user_id": ...})

    def client(self) -> FakeTautulliClient:  # type: ignore[override]
        return FakeTautulliClient(json.loads(self.history_json), json.loads(self.users_json))


class FakePlexClient(_FakeClient):
    def __init__(self, items: list[dict]):
        self.items = [PlexItem(**i) for i in items]

    def inventory(self, page_size: int = 100) -> InventoryScan:
        media = {i.media_type for i in self.items}
        return InventoryScan(items=list(self.items),
                             legacy_without_tmdb=sum(1 for i in self.items if i.tmdb_id is None),
                             sections_scanned=len({i.section_id for i in self.items}),
                             section_titles={m: ["Movies" if m == "movie" else "TV Shows"] for m in sorted(media)})


class FakePlexResource(PlexResource):
    base_url: str = "http://plex.invalid"
    token: str = "fake-plex-token"
    items_json: str = "[]"  # PlexItem fields per library item

    def client(self) -> FakePlexClient:  # type: ignore[override]
        return FakePlexClient(json.loads(self.items_json))


class FakeTmdbClient(_FakeClient):
    """TMDb from a catalog of ``TitleDetails`` fields: details, search, TVDB find, and the lists
    a candidate pool is built from (recommendations, similar, discover). ``genres`` maps genre
    names to TMDb's ids for the names the catalog uses; discover filters on them as TMDb does
    (',' = all of, '|' = any of)."""

    def __init__(self, catalog: list[dict], genres: dict[str, int] | None = None):
        self.catalog = {(d["medium"], int(d["tmdb_id"])): TitleDetails(**d) for d in catalog}
        self.genre_map = dict(genres or {})
        self.requests: list[tuple] = []

    def _not_found(self, path: str) -> ServiceError:
        return ServiceError("tmdb", f"http://tmdb.invalid/3/{path}", "not_found",
                            "The resource you requested could not be found.", status=404)

    def _summary(self, d: TitleDetails) -> TitleSummary:
        return TitleSummary(d.tmdb_id, d.medium, d.title, d.original_title or d.title, d.year,
                            [self.genre_map[g] for g in d.genres if g in self.genre_map],
                            d.overview, d.popularity, d.vote_count, d.vote_average)

    def _by_popularity(self, medium: str) -> list[TitleDetails]:
        return sorted((d for d in self.catalog.values() if d.medium == medium),
                      key=lambda d: (-(d.popularity or 0), d.tmdb_id))

    def details(self, tmdb_id: int, medium: str) -> TitleDetails:
        self.requests.append(("details", medium, tmdb_id))
        found = self.catalog.get((medium, int(tmdb_id)))
        if found is None:
            raise self._not_found(f"{medium}/{tmdb_id}")
        return found

    def search_titles(self, title: str, year: int | None = None, medium: str = "movie", **_kw) -> list[TitleSummary]:
        self.requests.append(("search", medium, title))
        return [self._summary(d) for d in self.catalog.values()
                if d.medium == medium and d.title.casefold() == title.casefold() and (year is None or d.year == year)]

    def find_tv_by_tvdb(self, tvdb_id: int) -> int | None:
        return next((d.tmdb_id for d in self.catalog.values() if d.medium == "tv" and d.tvdb_id == tvdb_id), None)

    def recommendations(self, tmdb_id: int, medium: str, page: int = 1) -> list[TitleSummary]:
        """Titles of the medium sharing a genre with the title, most popular first."""
        self.requests.append(("recommendations", medium, tmdb_id))
        source = self.catalog.get((medium, int(tmdb_id)))
        if source is None:
            raise self._not_found(f"{medium}/{tmdb_id}/recommendations")
        if page > 1:
            return []
        return [self._summary(d) for d in self._by_popularity(medium)
                if d.tmdb_id != source.tmdb_id and set(d.genres) & set(source.genres)]

    def similar(self, tmdb_id: int, medium: str, page: int = 1) -> list[TitleSummary]:
        return self.recommendations(tmdb_id, medium, page)

    def _matches(self, d: TitleDetails, with_genres: str | None, without_genres: str | None) -> bool:
        ids = {self.genre_map[g] for g in d.genres if g in self.genre_map}
        if with_genres:
            wanted = str(with_genres)
            groups = [int(x) for x in wanted.replace("|", ",").split(",") if x]
            if ("|" in wanted and not ids & set(groups)) or ("|" not in wanted and not set(groups) <= ids):
                return False
        if without_genres and ids & {int(x) for x in str(without_genres).replace("|", ",").split(",") if x}:
            return False
        return True

    def discover_page(self, medium: str, page: int = 1, *, with_genres=None, without_genres=None,
                      with_keywords=None, **_params) -> tuple[list[TitleSummary], int]:
        self.requests.append(("discover", medium, page))
        rows = [self._summary(d) for d in self._by_popularity(medium) if self._matches(d, with_genres, without_genres)]
        per_page = 20
        total_pages = max(1, -(-len(rows) // per_page))
        return rows[(page - 1) * per_page: page * per_page], total_pages

    def discover(self, medium: str, with_genres=None, without_genres=None, with_keywords=None,
                 sort_by: str = "popularity.desc", page: int = 1, **_extra) -> list[TitleSummary]:
        return self.discover_page(medium, page, with_genres=with_genres, without_genres=without_genres)[0]

    def genres(self, medium: str) -> dict[str, int]:
        return dict(self.genre_map)

    def keyword_ids(self, names) -> list[int]:
        return []  # the fake catalog has no keyword ids: keyword filters fall back to genres


class FakeTmdbResource(TmdbResource):
    base_url: str = "http://tmdb.invalid/3"
    api_key: str = "fake-tmdb-key"
    catalog_json: str = "[]"  # TitleDetails fields per title
    genres_json: str = "{}"  # genre name -> TMDb genre id, for the names the catalog uses

    def client(self) -> FakeTmdbClient:  # type: ignore[override]
        return FakeTmdbClient(json.loads(self.catalog_json), json.loads(self.genres_json))


class FakeLlmClient(_FakeClient):
    """An OpenAI-compatible model that, given a candidate pool, picks the first ``count``
    candidates in the order offered (the pool's best first); ``answers_json``, when set, is a
    list of answers returned in turn instead (e.g. to test a repair or a top-up round)."""

    def __init__(self, model: str, answers: list | None, prompt_tokens: int = 400, completion_tokens: int = 120):
        self.model, self.answers = model, list(answers or [])
        self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens
        self.calls: list[dict] = []

    def complete_json(self, system: str, user: str, schema: dict, schema_name: str = "recommendations") -> LlmAnswer:
        payload = json.loads(user)
        self.calls.append(payload)
        if self.answers:
            data = self.answers.pop(0)
        else:
            count = int(payload.get("constraints", {}).get("count") or 0)
            data = {"category": payload.get("category", {}).get("label", ""), "recommendations": [
                {"title": c["title"], "year": c.get("year"), "medium": c["medium"], "tmdb_id": c.get("id"),
                 "why": f"fits {payload.get('category', {}).get('label', 'the category')}", "keywords": []}
                for c in (payload.get("candidates") or [])[:count]]}
        content = json.dumps(data)
        return LlmAnswer(content=content, data=data if isinstance(data, dict) else None,
                         parse_error=None if isinstance(data, dict) else "not a JSON object",
                         prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                         model=self.model, response_format_used="json_schema", finish_reason="stop")


class FakeLlmResource(LlmResource):
    base_url: str = "http://llm.invalid/v1"
    api_key: str = "fake-llm-key"
    model: str = "fake-model"
    answers_json: str = "[]"

    def client(self) -> FakeLlmClient:  # type: ignore[override]
        return FakeLlmClient(self.model, json.loads(self.answers_json))


class FakeOverseerrClient(_FakeClient):
    """Overseerr that knows ``available`` and ``requested`` ids ("movie:603") and creates a
    request for anything else; ``created`` lists what it was asked for, in order."""

    def __init__(self, available: list[str], requested: list[str], log_path: str | None):
        self.available, self.requested = set(available), set(requested)
        self.log_path = log_path
        self.created: list[str] = []

    def media_status(self, tmdb_id: int, medium: str) -> MediaStatus:
        key = f"{medium}:{int(tmdb_id)}"
        if key in self.available:
            return MediaStatus(status=5, requested=False, available=True)
        if key in self.requested:
            return MediaStatus(status=2, requested=True, available=False)
        return MediaStatus(status=1, requested=False, available=False)

    def request(self, tmdb_id: int, medium: str, seasons: list[int] | None = None) -> RequestOutcome:
        key = f"{medium}:{int(tmdb_id)}"
        self.requested.add(key)
        self.created.append(key)
        if self.log_path:  # a resource is rebuilt per step: the file lets a test see what was asked
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"key": key, "seasons": seasons}) + "\n")
        return RequestOutcome(created=True, duplicate=False, no_seasons=False, request_id=len(self.created),
                              status=1)


class FakeOverseerrResource(OverseerrResource):
    base_url: str = "http://overseerr.invalid"
    api_key: str = "fake-overseerr-key"
    available_json: str = "[]"  # ["movie:603", "tv:1396"]
    requested_json: str = "[]"
    log_path: str | None = None  # JSON lines of the requests made, when set

    def client(self) -> FakeOverseerrClient:  # type: ignore[override]
        return FakeOverseerrClient(json.loads(self.available_json), json.loads(self.requested_json), self.log_path)
