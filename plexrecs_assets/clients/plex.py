"""Plex Media Server client: library sections and a movie/show inventory with external ids."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from plexrecs_assets.clients.base import CheckResult, HttpClient, RetryPolicy, ServiceError
from plexrecs_assets.clients.guids import parse_guids

# Plex library types we recommend from, mapped to PlexRecs' medium names.
SECTION_MEDIA = {"movie": "movie", "show": "tv"}


@dataclass(frozen=True)
class PlexItem:
    rating_key: str
    media_type: str  # 'movie' | 'tv'
    title: str
    year: int | None
    tmdb_id: int | None
    imdb_id: str | None
    tvdb_id: int | None
    guid: str | None
    section_id: str | None = None
    leaf_count: int | None = None  # a show's episodes in the library (``leafCount``)


@dataclass
class InventoryScan:
    items: list[PlexItem] = field(default_factory=list)
    # Items with no TMDb id (legacy agents such as com.plexapp.agents.imdb); they stay in
    # ``items`` with tmdb_id None so callers can still match them by IMDb/TVDb id or title.
    legacy_without_tmdb: int = 0
    sections_scanned: int = 0
    # The scanned libraries' titles per medium (Kometa playlists name the libraries they draw from).
    section_titles: dict[str, list[str]] = field(default_factory=dict)


def plex_item_from_metadata(meta: dict[str, Any], media_type: str, section_id: str | None = None) -> PlexItem:
    ids = parse_guids(meta.get("Guid") or [])
    if ids.tmdb_id is None and ids.imdb_id is None and ids.tvdb_id is None and meta.get("guid"):
        ids = parse_guids([meta["guid"]])  # legacy agent guid, e.g. com.plexapp.agents.themoviedb://603
    return PlexItem(
        rating_key=str(meta.get("ratingKey", "")),
        media_type=media_type,
        title=str(meta.get("title") or ""),
        year=_as_int(meta.get("year")),
        tmdb_id=ids.tmdb_id,
        imdb_id=ids.imdb_id,
        tvdb_id=ids.tvdb_id,
        guid=meta.get("guid"),
        section_id=section_id,
        leaf_count=_as_int(meta.get("leafCount")) if media_type == "tv" else None,
    )


class PlexClient(HttpClient):
    service = "plex"

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, client_identifier: str = "plexrecs"):
        headers = {
            # the token travels as a header so it never ends up in a URL, a log line or an error
            "X-Plex-Token": token,
            "Accept": "application/json",
            "X-Plex-Client-Identifier": client_identifier,
            "X-Plex-Product": "PlexRecs",
        }
        super().__init__(base_url, timeout_s=timeout_s, retry=retry, headers=headers, secrets=[token],
                         transport=transport)

    def _container(self, path: str, **kwargs: Any) -> dict:
        response, body = self.request_json("GET", path, **kwargs)
        container = body.get("MediaContainer") if isinstance(body, dict) else None
        if not isinstance(container, dict):
            raise self._error(str(response.request.url), "bad_response", "no MediaContainer in the reply",
                              response.status_code)
        return container

    def sections(self, *, attempts: int | None = None) -> list[dict]:
        return list(self._container("/library/sections", attempts=attempts).get("Directory") or [])

    def section_items(self, section_id: str | int, page_size: int = 100) -> list[dict]:
        """Every item of a section (``Metadata`` entries with their ``Guid`` list), all pages."""
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size!r}")
        items: list[dict] = []
        start = 0
        while True:
            container = self._container(
                f"/library/sections/{section_id}/all",
                params={"includeGuids": "1"},
                headers={"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": str(page_size)},
            )
            page = list(container.get("Metadata") or [])
            items.extend(page)
            start += len(page)
            total = _as_int(container.get("totalSize"))
            if total is None:
                total = _as_int(container.get("size"))
            if not page or total is None or start >= total:
                return items

    def inventory(self, page_size: int = 100) -> InventoryScan:
        scan = InventoryScan()
        for section in self.sections():
            media_type = SECTION_MEDIA.get(str(section.get("type")))
            if media_type is None:
                continue
            section_id = str(section.get("key"))
            if section.get("title"):
                scan.section_titles.setdefault(media_type, []).append(str(section["title"]))
            for meta in self.section_items(section_id, page_size=page_size):
                item = plex_item_from_metadata(meta, media_type, section_id)
                scan.items.append(item)
                if item.tmdb_id is None:
                    scan.legacy_without_tmdb += 1
            scan.sections_scanned += 1
        return scan

    def check(self) -> CheckResult:
        def probe() -> str:
            sections = self.sections(attempts=2)
            usable = [s for s in sections if str(s.get("type")) in SECTION_MEDIA]
            return f"plex reachable, token accepted ({len(usable)} movie/show sections)"

        return self.run_check(probe, auth_fix="bad token: set PLEX_TOKEN to your X-Plex-Token",
                              not_found_fix="wrong URL? give the server root, e.g. http://host:32400")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["InventoryScan", "PlexClient", "PlexItem", "ServiceError", "plex_item_from_metadata"]
