"""Overseerr API v1 emulator: status, auth/me, movie/tv details with ``mediaInfo``, and media
requests kept in memory (shown at ``GET /__emulator/state``)."""
from __future__ import annotations

import datetime as dt
import threading

from plexrecs_emulators.catalog import Catalog, Entry
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.http import EmulatorServer, Request, Response
from plexrecs_emulators.library import Library
from plexrecs_assets.demo import EMULATOR_KEYS

DEFAULT_API_KEY = EMULATOR_KEYS["overseerr"]
# MediaStatus
UNKNOWN, PENDING, PROCESSING, PARTIALLY_AVAILABLE, AVAILABLE = 1, 2, 3, 4, 5
# MediaRequestStatus
REQUEST_APPROVED, REQUEST_DECLINED = 2, 3

ADMIN = {"id": 1, "email": "admin@emulator.local", "plexUsername": "admin", "username": "admin",
         "displayName": "admin", "userType": 1, "permissions": 2, "avatar": "/os_logo_square.png",
         "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def _message(message: str, status: int) -> Response:
    return Response.json({"message": message}, status, "application/json; charset=utf-8")


class OverseerrEmulator(EmulatorServer):
    name = "overseerr"

    def __init__(self, catalog: Catalog, library: Library, *, api_key: str = DEFAULT_API_KEY,
                 host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None):
        super().__init__(host=host, port=port, faults=faults)
        self.catalog = catalog
        self.api_key = api_key
        self._lock = threading.Lock()
        self._media: dict[tuple[str, int], dict] = {}
        self._media_requests: list[dict] = []
        created = "2024-01-01T00:00:00.000Z"
        for item in library.items:  # Plex sync makes every owned title AVAILABLE
            if item.tmdb_id is None:
                continue
            medium = item.medium
            entry = catalog.get(medium, item.tmdb_id)
            seasons = (entry.title.number_of_seasons if entry else None) or 1
            self._new_media(medium, item.tmdb_id, AVAILABLE, created, rating_key=item.rating_key,
                            seasons={n: AVAILABLE for n in range(1, seasons + 1)} if medium == "tv" else {})

    # --------------------------------------------------------------- state
    def _new_media(self, medium: str, tmdb_id: int, status: int, created: str, *, rating_key: str | None = None,
                   seasons: dict[int, int] | None = None) -> dict:
        entry = self.catalog.get(medium, tmdb_id)
        media = {
            "id": len(self._media) + 1, "mediaType": medium, "tmdbId": tmdb_id,
            "tvdbId": entry.title.tvdb_id if entry else None, "imdbId": entry.title.imdb_id if entry else None,
            "status": status, "status4k": UNKNOWN, "createdAt": created, "updatedAt": created,
            "ratingKey": rating_key, "seasons": seasons or {},
        }
        self._media[(medium, tmdb_id)] = media
        return media

    def state(self) -> dict:
        with self._lock:
            return {"requests": [dict(r) for r in self._media_requests],
                    "media": [self._media_info(m, with_requests=False) for m in self._media.values()
                              if m["status"] != AVAILABLE]}

    def _media_info(self, media: dict, *, with_requests: bool = True) -> dict:
        info = {k: v for k, v in media.items() if k != "seasons"}
        info["seasons"] = [{"id": n, "seasonNumber": n, "status": s, "status4k": UNKNOWN}
                           for n, s in sorted(media["seasons"].items())]
        if with_requests:
            info["requests"] = [r for r in self._media_requests
                                if r["media"]["tmdbId"] == media["tmdbId"] and r["type"] == media["mediaType"]]
        return info

    # --------------------------------------------------------------- errors
    def too_many_requests(self, retry_after: str) -> Response:
        resp = _message("Too many requests, please try again later.", 429)
        resp.headers["Retry-After"] = retry_after
        return resp

    def server_error(self) -> Response:
        return _message("Internal Server Error", 500)

    def _authorized(self, req: Request) -> bool:
        return not self.credentials_rejected() and req.header("x-api-key") == self.api_key

    # --------------------------------------------------------------- routes
    def route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if not path.startswith("/api/v1"):
            return Response.text("Not Found", 404, "text/html; charset=utf-8")
        parts = [p for p in path[len("/api/v1"):].split("/") if p]
        if req.method == "GET" and parts == ["status"]:
            return Response.json({"version": "1.33.2", "commitTag": "v1.33.2", "updateAvailable": False,
                                  "commitsBehind": 0, "restartRequired": False})
        if req.method == "GET" and parts == ["settings", "public"]:
            return Response.json({"initialized": True, "applicationTitle": "Overseerr", "localLogin": True,
                                  "movie4kEnabled": False, "series4kEnabled": False})
        if not self._authorized(req):
            return Response.json({"status": 403, "error": "You do not have permission to access this endpoint"}, 403)
        match (req.method, parts):
            case ("GET", ["auth", "me"]):
                with self._lock:
                    count = len(self._media_requests)
                return Response.json({**ADMIN, "requestCount": count, "settings": {"locale": ""}})
            case ("GET", [("movie" | "tv") as medium, tmdb_id]):
                return self._details(medium, tmdb_id)
            case ("POST", ["request"]):
                return self._create_request(req)
            case ("GET", ["request"]):
                return self._list_requests(req)
            case ("GET", ["request", request_id]):
                with self._lock:
                    found = next((r for r in self._media_requests if str(r["id"]) == request_id), None)
                return Response.json(found) if found else _message("Request not found.", 404)
        return Response.json({"message": "not found", "errors": [{"path": req.path, "message": "not found"}]}, 404)

    def _details(self, medium: str, tmdb_id: str) -> Response:
        entry = self.catalog.get(medium, tmdb_id)
        if entry is None:
            return _message("Unable to retrieve movie." if medium == "movie" else "Unable to retrieve series.", 500)
        body = self._movie(entry) if medium == "movie" else self._tv(entry)
        with self._lock:
            media = self._media.get((medium, entry.title.tmdb_id))
            if media is not None:
                body["mediaInfo"] = self._media_info(media)
        return Response.json(body)

    def _common(self, e: Entry) -> dict:
        t = e.title
        return {
            "id": t.tmdb_id, "backdropPath": None, "posterPath": None, "genres": self.catalog.genres_of(e),
            "homepage": "", "originalLanguage": t.original_language, "overview": Catalog.overview(e),
            "popularity": t.popularity, "productionCompanies": [],
            "productionCountries": [{"iso_3166_1": c, "name": c} for c in t.countries],
            "spokenLanguages": [], "status": "Released" if t.medium == "movie" else "Ended", "tagline": "",
            "voteAverage": t.vote_average, "voteCount": t.vote_count,
            "credits": {"cast": [], "crew": []}, "relatedVideos": [], "watchProviders": [],
            "keywords": self.catalog.keywords_of(e),
        }

    def _movie(self, e: Entry) -> dict:
        t = e.title
        return {**self._common(e), "adult": False, "budget": 0, "imdbId": t.imdb_id,
                "originalTitle": t.original_title, "releaseDate": t.date, "releases": {"results": []},
                "revenue": 0, "runtime": t.runtime_min, "title": t.title, "video": False,
                "externalIds": {"facebookId": None, "imdbId": t.imdb_id, "instagramId": None, "twitterId": None}}

    def _tv(self, e: Entry) -> dict:
        t = e.title
        seasons = max(1, t.number_of_seasons or 1)
        year = t.year or 2000
        return {**self._common(e), "name": t.title, "originalName": t.original_title, "firstAirDate": t.date,
                "lastAirDate": f"{year + seasons - 1}-11-15" if t.date else None,
                "episodeRunTime": [t.runtime_min] if t.runtime_min else [], "inProduction": False,
                "languages": [t.original_language], "networks": [], "numberOfEpisodes": seasons * 8,
                "numberOfSeasons": seasons, "originCountry": list(t.countries), "type": "Scripted",
                "seasons": [{"id": t.tmdb_id * 100 + n, "airDate": None, "episodeCount": 8, "name": f"Season {n}",
                             "overview": "", "posterPath": None, "seasonNumber": n} for n in range(1, seasons + 1)],
                "externalIds": {"imdbId": t.imdb_id, "tvdbId": t.tvdb_id, "facebookId": None,
                                "instagramId": None, "twitterId": None}}

    def _create_request(self, req: Request) -> Response:
        try:
            body = req.json()
        except ValueError:
            return _message("request.body should be object", 400)
        if not isinstance(body, dict):
            return _message("request.body should be object", 400)
        medium = body.get("mediaType")
        media_id = body.get("mediaId")
        if medium not in ("movie", "tv"):
            return _message("request.body.mediaType should be equal to one of the allowed values: movie, tv", 400)
        if isinstance(media_id, bool) or not isinstance(media_id, int):
            return _message("request.body.mediaId should be number", 400)
        entry = self.catalog.get(medium, media_id)
        if entry is None:
            what = "movie" if medium == "movie" else "tv"
            return _message(f"[TMDB] Failed to fetch {what} details: Request failed with status code 404", 500)
        is4k = body.get("is4k")
        if is4k is not None and not isinstance(is4k, bool):
            return _message("request.body.is4k should be boolean", 400)
        now = _now()
        with self._lock:
            media = self._media.get((medium, media_id))
            # MediaRequest.ts finds earlier requests with ``request.is4k = :is4k``: without an
            # is4k in the body that compares with NULL and finds none, so a repeat is created.
            existing = [] if is4k is None else [
                r for r in self._media_requests if r["type"] == medium and r["media"]["tmdbId"] == media_id
                and r["is4k"] == is4k and r["status"] != REQUEST_DECLINED]
            if medium == "movie":
                # Only an earlier request is a duplicate: an AVAILABLE title never requested gets
                # a new request (the real server does not answer 409 for it).
                if existing:
                    return _message("Request for this media already exists.", 409)
                seasons: list[int] = []
            else:
                total = max(1, entry.title.number_of_seasons or 1)
                asked = body.get("seasons", "all")
                if asked == "all":
                    wanted = list(range(1, total + 1))
                elif isinstance(asked, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in asked):
                    wanted = sorted(set(asked))
                else:
                    return _message("request.body.seasons should be array or \"all\"", 400)
                # Seasons already requested (same is4k) or known to the media (status, or status4k for 4K).
                taken = {s["seasonNumber"] for r in existing for s in r["seasons"]}
                if media and not is4k:
                    taken |= {n for n, st in media["seasons"].items() if st != UNKNOWN}
                seasons = [s for s in wanted if s not in taken]
                if not seasons:
                    return Response.json({"message": "No seasons available to request"}, 202)
            if media is None:
                media = self._new_media(medium, media_id, PROCESSING, now)
            elif media["status"] in (UNKNOWN, PENDING):
                media["status"] = PROCESSING
            for s in seasons:
                media["seasons"][s] = PROCESSING
            if medium == "tv" and media["status"] == AVAILABLE:
                media["status"] = PARTIALLY_AVAILABLE
            media["updatedAt"] = now
            request = {
                "id": len(self._media_requests) + 1, "status": REQUEST_APPROVED, "type": medium, "is4k": bool(is4k),
                "createdAt": now, "updatedAt": now,
                "media": {k: v for k, v in self._media_info(media, with_requests=False).items()},
                "requestedBy": {"id": ADMIN["id"], "displayName": ADMIN["displayName"], "email": ADMIN["email"]},
                "modifiedBy": {"id": ADMIN["id"], "displayName": ADMIN["displayName"]},
                "seasons": [{"id": n, "seasonNumber": n, "status": REQUEST_APPROVED, "createdAt": now,
                             "updatedAt": now} for n in seasons],
                "serverId": body.get("serverId"), "profileId": body.get("profileId"),
                "rootFolder": body.get("rootFolder"),
            }
            self._media_requests.append(request)
        return Response.json(request, 201)

    def _list_requests(self, req: Request) -> Response:
        take = int(req.query.get("take") or 10)
        skip = int(req.query.get("skip") or 0)
        with self._lock:
            items = list(reversed(self._media_requests))
        page = items[skip:skip + take]
        return Response.json({"pageInfo": {"pages": max(1, -(-len(items) // max(1, take))), "pageSize": take,
                                           "results": len(items), "page": skip // max(1, take) + 1},
                              "results": page})
