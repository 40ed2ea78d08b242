"""Plex Media Server emulator: ``/identity``, ``/``, ``/library/sections``,
``/library/sections/{id}/all`` (paged, ``includeGuids``) and ``/library/metadata/{key}``.

JSON with ``Accept: application/json``, XML otherwise, like the real server."""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from plexrecs_assets.emulators.faults import Faults
from plexrecs_assets.emulators.http import EmulatorServer, Request, Response
from plexrecs_assets.emulators.library import Library
from plexrecs_assets.world.loader import InventoryItem

DEFAULT_TOKEN = "emu-plex-token"
TYPE_NUMBERS = {"movie": 1, "show": 2}


def _html(status: int, reason: str) -> Response:
    body = f"<html><head><title>{reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
    return Response.text(body, status, "text/html")


class PlexEmulator(EmulatorServer):
    name = "plex"
    secret_params = ("X-Plex-Token",)

    def __init__(self, library: Library, *, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None):
        super().__init__(host=host, port=port, faults=faults)
        self.library = library
        self.token = token
        self._sorted: dict[tuple[str, str | None], list[InventoryItem]] = {}

    def too_many_requests(self, retry_after: str) -> Response:
        resp = _html(429, "Too Many Requests")
        resp.headers["Retry-After"] = retry_after
        return resp

    def server_error(self) -> Response:
        return _html(500, "Internal Server Error")

    def _param(self, req: Request, name: str) -> str | None:
        """X-Plex-* values may come as headers or as query parameters."""
        value = req.header(name)
        if value is None:
            value = req.query.get(name)
        return value

    def _authorized(self, req: Request) -> bool:
        return not self.credentials_rejected() and self._param(req, "X-Plex-Token") == self.token

    # ------------------------------------------------------------------ routes
    def route(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        if req.method not in ("GET", "HEAD"):
            return _html(405, "Method Not Allowed") if self._authorized(req) else _html(401, "Unauthorized")
        if path == "/identity":
            return self._render(req, {"size": 0, "claimed": True,
                                      "machineIdentifier": self.library.machine_identifier,
                                      "version": self.library.version})
        if not self._authorized(req):
            return _html(401, "Unauthorized")
        parts = [p for p in path.split("/") if p]
        match parts:
            case []:
                return self._render(req, {"size": 0, "friendlyName": self.library.friendly_name,
                                          "machineIdentifier": self.library.machine_identifier,
                                          "version": self.library.version, "myPlex": True,
                                          "platform": "Linux", "transcoderActiveVideoSessions": 0})
            case ["library", "sections"] | ["library", "sections", "all"]:
                return self._sections(req)
            case ["library", "sections", key, "all"]:
                return self._section_all(req, key)
            case ["library", "metadata", rating_key]:
                item = self.library.by_rating_key.get(rating_key)
                if item is None:
                    return _html(404, "Not Found")
                return self._render(req, {"size": 1, **self._section_attrs(item.section_id),
                                          "Metadata": [self.item(item, include_guids=True)]})
        return _html(404, "Not Found")

    def _sections(self, req: Request) -> Response:
        directories = []
        for n, s in enumerate(self.library.sections, start=1):
            directories.append({
                "allowSync": True, "art": f"/:/resources/{s['type']}-fanart.jpg", "composite": "",
                "filters": True, "refreshing": False, "thumb": "", "key": s["key"], "type": s["type"],
                "title": s["title"], "agent": s["agent"],
                "scanner": "Plex Movie" if s["type"] == "movie" else "Plex TV Series",
                "language": "en-US", "uuid": f"0f1e2d3c-0000-4000-8000-{int(n):012d}",
                "updatedAt": 1717000000, "createdAt": 1600000000, "scannedAt": 1717000000,
                "content": True, "directory": True, "hidden": 0,
                "Location": [{"id": n, "path": f"/data/{s['title'].lower().replace(' ', '-')}"}],
            })
        return self._render(req, {"size": len(directories), "allowSync": False, "title1": "Plex Library",
                                  "Directory": directories})

    def _section_attrs(self, key: str) -> dict:
        section = self.library.section(key) or {"title": ""}
        return {"librarySectionID": int(key) if str(key).isdigit() else key,
                "librarySectionTitle": section["title"], "identifier": "com.plexapp.plugins.library"}

    def _section_all(self, req: Request, key: str) -> Response:
        section = self.library.section(key)
        if section is None:
            return _html(404, "Not Found")
        items = self._sorted_items(key, req.query.get("type"))
        try:
            start = max(0, int(self._param(req, "X-Plex-Container-Start") or 0))
            size_raw = self._param(req, "X-Plex-Container-Size")
            size = None if size_raw in (None, "") else max(0, int(size_raw))
        except ValueError:
            return _html(400, "Bad Request")
        page = items[start:] if size is None else items[start:start + size]
        include_guids = req.query.get("includeGuids") == "1"
        container = {"size": len(page), "totalSize": len(items), "offset": start, "allowSync": True,
                     **self._section_attrs(key), "title1": section["title"], "viewGroup": section["type"],
                     "Metadata": [self.item(i, include_guids) for i in page]}
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(items))}
        return self._render(req, container, headers)

    def _sorted_items(self, key: str, wanted_type: str | None) -> list[InventoryItem]:
        # Once per section, not once per page: a 50,000-item library is read in 500 pages.
        cached = self._sorted.get((key, wanted_type))
        if cached is None:
            items = self.library.items_in(key)
            if wanted_type:
                items = [i for i in items if str(TYPE_NUMBERS.get(i.media_type)) == wanted_type]
            cached = self._sorted[(key, wanted_type)] = sorted(items, key=lambda i: (i.title.lower(), i.rating_key))
        return cached

    def item(self, item: InventoryItem, include_guids: bool) -> dict:
        title = self.library.title_of(item) or self.library.legacy_title(item)
        data = {
            "ratingKey": item.rating_key,
            "key": f"/library/metadata/{item.rating_key}" + ("/children" if item.media_type == "show" else ""),
            "guid": self.library.plex_guid(item),
            "type": item.media_type,
            "title": item.title,
            "librarySectionID": int(item.section_id) if item.section_id.isdigit() else item.section_id,
            "summary": "",
            "addedAt": item.added_at,
            "updatedAt": item.added_at,
        }
        if item.year is not None:
            data["year"] = item.year
        if title is not None:
            if title.date:
                data["originallyAvailableAt"] = title.date
            if title.runtime_min:
                data["duration"] = title.runtime_min * 60_000
            if title.original_title and title.original_title != item.title:
                data["originalTitle"] = title.original_title
            data["Genre"] = [{"tag": g} for g in title.genres[:3]]
        if item.media_type == "show":
            seasons = (title.number_of_seasons if title else None) or 1
            data.update({"childCount": seasons, "leafCount": seasons * 8})
        if include_guids and item.agent == "plex":
            data["Guid"] = [{"id": g} for g in self.library.external_guids(item)]
        return data

    # --------------------------------------------------------------- rendering
    def _render(self, req: Request, container: dict, headers: dict | None = None) -> Response:
        if "json" in (req.header("accept") or ""):
            return Response.json({"MediaContainer": container}, headers=headers)
        return Response.text('<?xml version="1.0" encoding="UTF-8"?>\n' + _to_xml("MediaContainer", container),
                             200, "text/xml;charset=utf-8", headers)


def _to_xml(tag: str, data: dict) -> str:
    attrs, children = [], []
    for key, value in data.items():
        if isinstance(value, list):
            for child in value:
                if isinstance(child, dict):
                    children.append(_to_xml(_element_name(key, child), child))
        elif isinstance(value, bool):
            attrs.append(f"{key}={quoteattr('1' if value else '0')}")
        elif value is not None:
            attrs.append(f"{key}={quoteattr(str(value))}")
    head = f"<{tag}{' ' if attrs else ''}{' '.join(attrs)}"
    if not children:
        return head + "/>"
    return head + ">\n" + "\n".join(children) + f"\n</{tag}>"


def _element_name(key: str, child: dict) -> str:
    # In XML, library items are Video (movies, episodes) or Directory (shows, seasons).
    if key == "Metadata":
        return "Video" if child.get("type") in ("movie", "episode", "clip") else "Directory"
    return key
