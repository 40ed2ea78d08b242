"""Plex Media Server emulator: ``/identity``, ``/``, ``/library``, ``/library/sections``,
``/library/sections/{id}/all`` and ``/library/all`` (paged, ``includeGuids``, ``type=`` and
``title=`` filters), ``/library/metadata/{key}`` and its ``/children`` and ``/allLeaves``.
Shows get synthetic seasons and episodes, enough for python-plexapi's common calls.

JSON with ``Accept: application/json``, XML otherwise, like the real server."""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from plexrecs_emulators.faults import Faults
from plexrecs_emulators.http import EmulatorServer, Request, Response
from plexrecs_emulators.library import Library
from plexrecs_emulators.world.loader import InventoryItem
from plexrecs_assets.demo import EMULATOR_KEYS

DEFAULT_TOKEN = EMULATOR_KEYS["plex"]
TYPE_NUMBERS = {"movie": 1, "show": 2, "season": 3, "episode": 4}
EPISODES_PER_SEASON = 8  # matches the emulated TMDb's seasons and the shows' leafCount
# Seasons and episodes are not in the world files; they get rating keys of their own ranges.
SEASON_BASE = 800_000_000
EPISODE_BASE = 4_000_000_000


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
            case ["library"]:
                return self._render(req, {"size": 3, "allowSync": False, "art": "/:/resources/library-art.png",
                                          "content": "", "identifier": "com.plexapp.plugins.library",
                                          "mediaTagPrefix": "/system/bundle/media/flags/",
                                          "mediaTagVersion": 1717000000, "title1": "Plex Library", "title2": "",
                                          "Directory": [{"key": "sections", "title": "Library Sections"},
                                                        {"key": "recentlyAdded", "title": "Recently Added Content"},
                                                        {"key": "onDeck", "title": "On Deck Content"}]})
            case ["library", "sections"] | ["library", "sections", "all"]:
                return self._sections(req)
            case ["library", "sections", key, "all"]:
                return self._section_all(req, key)
            case ["library", "all"]:
                return self._library_all(req)
            case ["library", "metadata", rating_key]:
                found = self._lookup(rating_key)
                if found is None:
                    return _html(404, "Not Found")
                item, season, episode = found
                return self._render(req, {"size": 1, **self._section_attrs(item.section_id),
                                          "Metadata": [self._node(item, season, episode, include_guids=True)]})
            case ["library", "metadata", rating_key, ("children" | "allLeaves") as what]:
                return self._children(req, rating_key, what)
        return _html(404, "Not Found")

    # ------------------------------------------------------- seasons, episodes
    def _lookup(self, rating_key: str):
        """(show or movie item, season or None, episode or None) for any rating key served."""
        item = self.library.by_rating_key.get(rating_key)
        if item is not None:
            return item, None, None
        if not rating_key.isdigit():
            return None
        number = int(rating_key)
        if number >= EPISODE_BASE:
            show_key, rest = divmod(number - EPISODE_BASE, 100_000)
            season, episode = divmod(rest, 100)
        elif number >= SEASON_BASE:
            show_key, season = divmod(number - SEASON_BASE, 1000)
            episode = None
        else:
            return None
        show = self.library.by_rating_key.get(str(show_key))
        if show is None or show.media_type != "show" or not 1 <= season <= self._seasons(show):
            return None
        if episode is not None and not 1 <= episode <= EPISODES_PER_SEASON:
            return None
        return show, season, episode

    def _seasons(self, show: InventoryItem) -> int:
        title = self.library.title_of(show)
        return (title.number_of_seasons if title else None) or 1

    @staticmethod
    def _season_key(show: InventoryItem, season: int) -> str:
        return str(SEASON_BASE + int(show.rating_key) * 1000 + season)

    @staticmethod
    def _episode_key(show: InventoryItem, season: int, episode: int) -> str:
        return str(EPISODE_BASE + int(show.rating_key) * 100_000 + season * 100 + episode)

    def _node(self, item: InventoryItem, season: int | None, episode: int | None, include_guids: bool) -> dict:
        if season is None:
            return self.item(item, include_guids)
        if episode is None:
            return self.season(item, season)
        return self.episode(item, season, episode)

    def season(self, show: InventoryItem, n: int) -> dict:
        key = self._season_key(show, n)
        return {"ratingKey": key, "key": f"/library/metadata/{key}/children", "parentRatingKey": show.rating_key,
                "parentKey": f"/library/metadata/{show.rating_key}", "parentTitle": show.title,
                "guid": f"plex://season/{int(key):024x}", "type": "season", "title": f"Season {n}", "index": n,
                "parentIndex": 1, "librarySectionID": _section_id(show.section_id), "summary": "",
                "leafCount": EPISODES_PER_SEASON, "viewedLeafCount": 0, "addedAt": show.added_at,
                "updatedAt": show.added_at}

    def episode(self, show: InventoryItem, season: int, n: int) -> dict:
        key = self._episode_key(show, season, n)
        season_key = self._season_key(show, season)
        title = self.library.title_of(show)
        data = {"ratingKey": key, "key": f"/library/metadata/{key}", "parentRatingKey": season_key,
                "parentKey": f"/library/metadata/{season_key}", "grandparentRatingKey": show.rating_key,
                "grandparentKey": f"/library/metadata/{show.rating_key}", "grandparentTitle": show.title,
                "parentTitle": f"Season {season}", "guid": f"plex://episode/{int(key):024x}", "type": "episode",
                "title": f"Episode {n}", "index": n, "parentIndex": season,
                "librarySectionID": _section_id(show.section_id), "summary": "", "addedAt": show.added_at,
                "updatedAt": show.added_at}
        if title is not None and title.runtime_min:
            data["duration"] = title.runtime_min * 60_000
        if show.year is not None:
            data["year"] = show.year + season - 1
        return data

    def _children(self, req: Request, rating_key: str, what: str) -> Response:
        found = self._lookup(rating_key)
        if found is None:
            return _html(404, "Not Found")
        item, season, episode = found
        if item.media_type != "show" or episode is not None:
            nodes: list[dict] = []  # a movie or an episode has no children
        elif season is None and what == "children":
            nodes = [self.season(item, n) for n in range(1, self._seasons(item) + 1)]
        else:
            seasons = [season] if season is not None else range(1, self._seasons(item) + 1)
            nodes = [self.episode(item, s, e) for s in seasons for e in range(1, EPISODES_PER_SEASON + 1)]
        container = {"size": len(nodes), "totalSize": len(nodes), "offset": 0, "allowSync": True,
                     **self._section_attrs(item.section_id), "key": rating_key, "parentTitle": item.title,
                     "title1": (self.library.section(item.section_id) or {"title": ""})["title"],
                     "title2": item.title, "viewGroup": "season" if what == "children" and season is None
                     else "episode", "Metadata": nodes}
        return self._paged(req, container, nodes)

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
        headers = {"X-Plex-Container-Start": "0", "X-Plex-Container-Total-Size": str(len(directories))}
        return self._render(req, {"size": len(directories), "allowSync": False,
                                  "identifier": "com.plexapp.plugins.library",
                                  "mediaTagPrefix": "/system/bundle/media/flags/", "mediaTagVersion": 1717000000,
                                  "title1": "Plex Library", "Directory": directories}, headers)

    def _section_attrs(self, key: str) -> dict:
        section = self.library.section(key) or {"title": ""}
        return {"librarySectionID": int(key) if str(key).isdigit() else key,
                "librarySectionTitle": section["title"], "identifier": "com.plexapp.plugins.library"}

    def _section_all(self, req: Request, key: str) -> Response:
        section = self.library.section(key)
        if section is None:
            return _html(404, "Not Found")
        nodes = self._filtered_nodes(req, [key])
        if nodes is None:
            return _html(400, "Bad Request")
        container = {"allowSync": True, **self._section_attrs(key), "title1": section["title"],
                     "viewGroup": section["type"]}
        return self._paged(req, container, nodes)

    def _library_all(self, req: Request) -> Response:
        nodes = self._filtered_nodes(req, [s["key"] for s in self.library.sections])
        if nodes is None:
            return _html(400, "Bad Request")
        return self._paged(req, {"allowSync": True, "identifier": "com.plexapp.plugins.library",
                                 "title1": "Plex Library"}, nodes)

    def _filtered_nodes(self, req: Request, section_keys: list[str]) -> list[dict] | None:
        """Items of the sections after the ``type=`` (1 movie, 2 show, 3 season, 4 episode) and
        ``title=`` (case-insensitive substring, as Plex filters) filters; None for a bad type."""
        wanted = req.query.get("type")
        if wanted not in (None, "") and wanted not in {str(n) for n in TYPE_NUMBERS.values()}:
            return None
        needle = (req.query.get("title") or "").lower()
        include_guids = req.query.get("includeGuids") == "1"
        nodes: list[dict] = []
        for key in section_keys:
            section = self.library.section(key) or {"type": ""}
            base_type = str(TYPE_NUMBERS.get(section["type"], ""))
            if wanted in ("3", "4") and section["type"] == "show":
                for show in self._sorted_items(key, None):
                    for n in range(1, self._seasons(show) + 1):
                        if wanted == "3":
                            nodes.append(self.season(show, n))
                        else:
                            nodes.extend(self.episode(show, n, e) for e in range(1, EPISODES_PER_SEASON + 1))
                continue
            if wanted not in (None, "") and wanted != base_type:
                continue
            items = self._sorted_items(key, wanted or None)
            if needle:
                items = [i for i in items if needle in i.title.lower()]
            nodes.extend(self.item(i, include_guids) for i in items)
        if needle and wanted in ("3", "4"):
            nodes = [n for n in nodes if needle in n["title"].lower()]
        return nodes

    def _paged(self, req: Request, container: dict, nodes: list[dict]) -> Response:
        try:
            start = max(0, int(self._param(req, "X-Plex-Container-Start") or 0))
            size_raw = self._param(req, "X-Plex-Container-Size")
            size = None if size_raw in (None, "") else max(0, int(size_raw))
        except ValueError:
            return _html(400, "Bad Request")
        page = nodes[start:] if size is None else nodes[start:start + size]
        container = {"size": len(page), "totalSize": len(nodes), "offset": start,
                     **{k: v for k, v in container.items() if k not in ("size", "totalSize", "offset", "Metadata")},
                     "Metadata": page}
        headers = {"X-Plex-Container-Start": str(start), "X-Plex-Container-Total-Size": str(len(nodes))}
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
            "librarySectionID": _section_id(item.section_id),
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


def _section_id(key: str):
    return int(key) if str(key).isdigit() else key


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
