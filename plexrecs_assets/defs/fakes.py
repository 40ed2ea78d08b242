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
from plexrecs_assets.clients.plex import InventoryScan, PlexItem
from plexrecs_assets.clients.tautulli import ExternalIds
from plexrecs_assets.clients.tmdb import TitleDetails, TitleSummary
from plexrecs_assets.defs.resources import PlexResource, TautulliResource, TmdbResource


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
        return InventoryScan(items=list(self.items),
                             legacy_without_tmdb=sum(1 for i in self.items if i.tmdb_id is None),
                             sections_scanned=len({i.section_id for i in self.items}))


class FakePlexResource(PlexResource):
    base_url: str = "http://plex.invalid"
    token: str = "fake-plex-token"
    items_json: str = "[]"  # PlexItem fields per library item

    def client(self) -> FakePlexClient:  # type: ignore[override]
        return FakePlexClient(json.loads(self.items_json))


class FakeTmdbClient(_FakeClient):
    """TMDb from a catalog of ``TitleDetails`` fields: details, search and TVDB find."""

    def __init__(self, catalog: list[dict]):
        self.catalog = {(d["medium"], int(d["tmdb_id"])): TitleDetails(**d) for d in catalog}
        self.requests: list[tuple] = []

    def details(self, tmdb_id: int, medium: str) -> TitleDetails:
        self.requests.append(("details", medium, tmdb_id))
        found = self.catalog.get((medium, int(tmdb_id)))
        if found is None:
            raise ServiceError("tmdb", f"http://tmdb.invalid/3/{medium}/{tmdb_id}", "not_found",
                               "The resource you requested could not be found.", status=404)
        return found

    def search_titles(self, title: str, year: int | None = None, medium: str = "movie", **_kw) -> list[TitleSummary]:
        self.requests.append(("search", medium, title))
        return [TitleSummary(d.tmdb_id, d.medium, d.title, d.original_title or d.title, d.year, [])
                for d in self.catalog.values()
                if d.medium == medium and d.title.casefold() == title.casefold() and (year is None or d.year == year)]

    def find_tv_by_tvdb(self, tvdb_id: int) -> int | None:
        return next((d.tmdb_id for d in self.catalog.values() if d.medium == "tv" and d.tvdb_id == tvdb_id), None)


class FakeTmdbResource(TmdbResource):
    base_url: str = "http://tmdb.invalid/3"
    api_key: str = "fake-tmdb-key"
    catalog_json: str = "[]"  # TitleDetails fields per title

    def client(self) -> FakeTmdbClient:  # type: ignore[override]
        return FakeTmdbClient(json.loads(self.catalog_json))
