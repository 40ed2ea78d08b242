"""TMDb API v3 emulator (``/3/...``): search, details with append_to_response, recommendations,
similar, discover, genre lists, keyword search, find by external id."""
from __future__ import annotations

import re

from plexrecs_emulators.catalog import Catalog, Entry, genre_id
from plexrecs_emulators.faults import Faults
from plexrecs_emulators.http import EmulatorServer, Request, Response
from plexrecs_assets.demo import EMULATOR_KEYS

DEFAULT_API_KEY = EMULATOR_KEYS["tmdb"]
DEFAULT_BEARER = EMULATOR_KEYS["tmdb_bearer"]
PAGE_SIZE = 20
MAX_PAGE = 500
MAX_APPEND = 20


def _error(status: int, code: int, message: str, headers: dict | None = None) -> Response:
    return Response.json({"success": False, "status_code": code, "status_message": message},
                         status, "application/json;charset=utf-8", headers)


NOT_FOUND = (404, 34, "The resource you requested could not be found.")


class TmdbEmulator(EmulatorServer):
    name = "tmdb"
    url_prefix = "/3"
    secret_params = ("api_key",)

    def __init__(self, catalog: Catalog, *, api_key: str = DEFAULT_API_KEY, bearer_token: str = DEFAULT_BEARER,
                 host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None):
        super().__init__(host=host, port=port, faults=faults)
        self.catalog = catalog
        self.api_key = api_key
        self.bearer_token = bearer_token

    # ------------------------------------------------------------------ errors
    def too_many_requests(self, retry_after: str) -> Response:
        return _error(429, 25, "Your request count (#) is over the allowed limit of (40).",
                      {"Retry-After": retry_after})

    def server_error(self) -> Response:
        return _error(500, 11, "Internal error: Something went wrong, contact TMDb.")

    def _authorized(self, req: Request) -> bool:
        if self.credentials_rejected():
            return False
        auth = req.header("authorization") or ""
        if auth.lower().startswith("bearer ") and auth[7:].strip() == self.bearer_token:
            return True
        return req.query.get("api_key") == self.api_key

    # ------------------------------------------------------------------ routes
    def route(self, req: Request) -> Response:
        if not req.path.startswith("/3/"):
            return _error(*NOT_FOUND)
        if not self._authorized(req):
            return _error(401, 7, "Invalid API key: You must be granted a valid key.")
        if req.method not in ("GET", "HEAD"):
            return _error(*NOT_FOUND)  # the emulated endpoints are all read-only
        parts = [p for p in req.path[3:].split("/") if p]
        q = req.query
        match parts:
            case ["authentication"]:
                return Response.json({"success": True, "status_code": 1, "status_message": "Success."})
            case ["configuration"]:
                return Response.json(_CONFIGURATION)
            case ["search", ("movie" | "tv") as kind]:
                return self._search(kind, q)
            case ["search", "keyword"]:
                return self._paged(q, self.catalog.search_keywords(q.get("query", "")), lambda r: r)
            case ["genre", ("movie" | "tv") as kind, "list"]:
                return Response.json({"genres": self.catalog.genre_list(kind)})
            case ["discover", ("movie" | "tv") as kind]:
                return self._discover(kind, q)
            case [("movie" | "tv") as kind, tmdb_id]:
                return self._details(kind, tmdb_id, q)
            case [("movie" | "tv") as kind, tmdb_id, ("recommendations" | "similar") as rel]:
                return self._related(kind, tmdb_id, rel, q)
            case [("movie" | "tv") as kind, tmdb_id, "external_ids"]:
                e = self.catalog.get(kind, tmdb_id)
                return Response.json({"id": e.title.tmdb_id, **self._external_ids(e)}) if e else _error(*NOT_FOUND)
            case [("movie" | "tv") as kind, tmdb_id, "keywords"]:
                e = self.catalog.get(kind, tmdb_id)
                if not e:
                    return _error(*NOT_FOUND)
                return Response.json({"id": e.title.tmdb_id, **self._keywords(e)})
            case ["find", external_id]:
                return self._find(external_id, q.get("external_source", ""))
        return _error(*NOT_FOUND)

    # ----------------------------------------------------------------- helpers
    def _page(self, q: dict) -> int | Response:
        raw = q.get("page", "1") or "1"
        try:
            page = int(raw)
        except ValueError:
            page = 0
        if not 1 <= page <= MAX_PAGE:
            return _error(400, 22, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.")
        return page

    def _paged(self, q: dict, items: list, render) -> Response:
        page = self._page(q)
        if isinstance(page, Response):
            return page
        total = len(items)
        chunk = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        return Response.json({
            "page": page,
            "results": [render(i) for i in chunk],
            "total_pages": max(1, -(-total // PAGE_SIZE)) if total else 1,
            "total_results": total,
        })

    def result(self, e: Entry) -> dict:
        t = e.title
        base = {
            "adult": False,
            "backdrop_path": None,
            "genre_ids": list(e.genre_ids),
            "id": t.tmdb_id,
            "original_language": t.original_language,
            "overview": Catalog.overview(e),
            "popularity": t.popularity,
            "poster_path": None,
            "vote_average": t.vote_average,
            "vote_count": t.vote_count,
        }
        if t.medium == "movie":
            base.update({"original_title": t.original_title, "release_date": t.date, "title": t.title,
                         "video": False})
        else:
            base.update({"origin_country": list(t.countries), "original_name": t.original_title,
                         "first_air_date": t.date, "name": t.title})
        return base

    def _search(self, kind: str, q: dict) -> Response:
        year = None
        keys = ("primary_release_year", "year") if kind == "movie" else ("first_air_date_year", "year")
        for key in keys:
            if q.get(key):
                try:
                    year = int(q[key])
                except ValueError:
                    return _error(422, 47, f"The input is not valid: {key} must be a year.")
                break
        return self._paged(q, self.catalog.search(kind, q.get("query", ""), year), self.result)

    def _related(self, kind: str, tmdb_id: str, rel: str, q: dict) -> Response:
        e = self.catalog.get(kind, tmdb_id)
        if e is None:
            return _error(*NOT_FOUND)
        return self._paged(q, self._related_entries(e, rel), self._related_result(rel))

    def _related_result(self, rel: str):
        # TMDb's recommendation rows carry media_type (like /search/multi); similar rows do not.
        if rel != "recommendations":
            return self.result
        return lambda e: {**self.result(e), "media_type": e.title.medium}

    def _related_entries(self, e: Entry, rel: str) -> list[Entry]:
        # Recommendations lean on shared keywords (what people watch next), similar on genres.
        if rel == "recommendations":
            return self.catalog.similar(e, keyword_weight=2, genre_weight=1)
        return self.catalog.similar(e, keyword_weight=1, genre_weight=2)

    def _external_ids(self, e: Entry) -> dict:
        t = e.title
        if t.medium == "movie":
            return {"imdb_id": t.imdb_id, "wikidata_id": None, "facebook_id": None, "instagram_id": None,
                    "twitter_id": None}
        return {"imdb_id": t.imdb_id, "freebase_mid": None, "freebase_id": None, "tvdb_id": t.tvdb_id,
                "tvrage_id": None, "wikidata_id": None, "facebook_id": None, "instagram_id": None,
                "twitter_id": None}

    def _keywords(self, e: Entry) -> dict:
        kws = self.catalog.keywords_of(e)
        return {"keywords": kws} if e.title.medium == "movie" else {"results": kws}

    def _details(self, kind: str, tmdb_id: str, q: dict) -> Response:
        e = self.catalog.get(kind, tmdb_id)
        if e is None:
            return _error(*NOT_FOUND)
        appends = [a.strip() for a in (q.get("append_to_response") or "").split(",") if a.strip()]
        if len(appends) > MAX_APPEND:
            return _error(400, 27, "Too many append to response objects: The maximum number of remote calls is 20.")
        body = self.movie_details(e) if kind == "movie" else self.tv_details(e)
        for name in appends:
            if name == "external_ids":
                body["external_ids"] = self._external_ids(e)
            elif name == "keywords":
                body["keywords"] = self._keywords(e)
            elif name in ("recommendations", "similar"):
                items = self._related_entries(e, name)
                body[name] = {"page": 1, "results": [self._related_result(name)(i) for i in items[:PAGE_SIZE]],
                              "total_pages": max(1, -(-len(items) // PAGE_SIZE)), "total_results": len(items)}
        return Response.json(body)

    def movie_details(self, e: Entry) -> dict:
        t = e.title
        return {
            "adult": False, "backdrop_path": None, "belongs_to_collection": None, "budget": 0,
            "genres": self.catalog.genres_of(e), "homepage": "", "id": t.tmdb_id, "imdb_id": t.imdb_id,
            "origin_country": list(t.countries[:1]), "original_language": t.original_language,
            "original_title": t.original_title, "overview": Catalog.overview(e), "popularity": t.popularity,
            "poster_path": None, "production_companies": [],
            "production_countries": [{"iso_3166_1": c, "name": c} for c in t.countries],
            "release_date": t.date, "revenue": 0, "runtime": t.runtime_min,
            "spoken_languages": _spoken_languages(t),
            "status": "Released", "tagline": "", "title": t.title, "video": False,
            "vote_average": t.vote_average, "vote_count": t.vote_count,
        }

    def tv_details(self, e: Entry) -> dict:
        t = e.title
        seasons = max(1, t.number_of_seasons or 1)
        episodes_per_season = 8
        year = t.year or 2000
        # TMDb has stopped filling episode_run_time for newer shows; clients must fall back
        # to last_episode_to_air.runtime, so newer emulated shows behave the same way.
        run_time = [t.runtime_min] if t.runtime_min and year < 2017 else []
        last_air = f"{year + seasons - 1}-11-15" if t.date else None
        return {
            "adult": False, "backdrop_path": None, "created_by": [], "episode_run_time": run_time,
            "first_air_date": t.date, "genres": self.catalog.genres_of(e), "homepage": "", "id": t.tmdb_id,
            "in_production": False, "languages": [t.original_language], "last_air_date": last_air,
            "last_episode_to_air": {
                "id": t.tmdb_id * 100 + seasons, "name": f"Episode {episodes_per_season}",
                "air_date": last_air, "episode_number": episodes_per_season, "season_number": seasons,
                "runtime": t.runtime_min, "show_id": t.tmdb_id,
            },
            "name": t.title, "next_episode_to_air": None, "networks": [],
            "number_of_episodes": seasons * episodes_per_season, "number_of_seasons": seasons,
            "origin_country": list(t.countries), "original_language": t.original_language,
            "original_name": t.original_title, "overview": Catalog.overview(e), "popularity": t.popularity,
            "poster_path": None, "production_companies": [],
            "production_countries": [{"iso_3166_1": c, "name": c} for c in t.countries],
            "spoken_languages": _spoken_languages(t),
            "seasons": [{"air_date": f"{year + n - 1}-01-15" if t.date else None,
                         "episode_count": episodes_per_season, "id": t.tmdb_id * 100 + n,
                         "name": f"Season {n}", "overview": "", "poster_path": None, "season_number": n,
                         "vote_average": 0.0} for n in range(1, seasons + 1)],
            "status": "Ended", "tagline": "", "type": "Scripted",
            "vote_average": t.vote_average, "vote_count": t.vote_count,
        }

    def _discover(self, kind: str, q: dict) -> Response:
        entries = list(self.catalog.by_medium.get(kind, []))
        with_genres = q.get("with_genres", "")
        without_genres = q.get("without_genres", "")
        with_keywords = q.get("with_keywords", "")
        without_keywords = q.get("without_keywords", "")
        year_keys = ("primary_release_year", "year") if kind == "movie" else ("first_air_date_year",)
        year = next((q[k] for k in year_keys if q.get(k)), None)
        lang = q.get("with_original_language")
        min_votes = q.get("vote_count.gte")
        out = []
        for e in entries:
            kw_ids = {self.catalog.keyword_ids[k] for k in e.title.keywords if k in self.catalog.keyword_ids}
            if with_genres and not _id_filter(with_genres, set(e.genre_ids)):
                continue
            if without_genres and set(_ids(without_genres)) & set(e.genre_ids):
                continue
            if with_keywords and not _id_filter(with_keywords, kw_ids):
                continue
            if without_keywords and set(_ids(without_keywords)) & kw_ids:
                continue
            if year and str(e.year) != str(year).strip():
                continue
            if lang and e.title.original_language != lang:
                continue
            if min_votes and e.title.vote_count < float(min_votes):
                continue
            out.append(e)
        field, _, direction = (q.get("sort_by") or "popularity.desc").partition(".")
        keyfn = {
            "popularity": lambda e: e.title.popularity,
            "vote_count": lambda e: e.title.vote_count,
            "vote_average": lambda e: e.title.vote_average,
            "primary_release_date": lambda e: e.title.date,
            "first_air_date": lambda e: e.title.date,
            "release_date": lambda e: e.title.date,
        }.get(field, lambda e: e.title.popularity)
        out.sort(key=lambda e: e.title.tmdb_id)
        out.sort(key=keyfn, reverse=direction != "asc")
        return self._paged(q, out, self.result)

    def _find(self, external_id: str, source: str) -> Response:
        found: Entry | None = None
        if source == "imdb_id":
            found = self.catalog.by_imdb.get(external_id)
        elif source == "tvdb_id" and external_id.isdigit():
            found = self.catalog.by_tvdb.get(int(external_id))
        else:
            return _error(400, 5, "Invalid parameters: Your request parameters are incorrect.")
        body = {"movie_results": [], "person_results": [], "tv_results": [], "tv_episode_results": [],
                "tv_season_results": []}
        if found:
            key = "movie_results" if found.title.medium == "movie" else "tv_results"
            body[key].append(self.result(found))
        return Response.json(body)


def _ids(text: str) -> list[int]:
    return [int(x) for x in re.split(r"[,|]", text) if x.strip().isdigit()]


def _id_filter(expr: str, have: set[int]) -> bool:
    """TMDb's discover syntax: comma means AND, pipe means OR."""
    if "|" in expr:
        return bool(set(_ids(expr)) & have)
    return set(_ids(expr)) <= have


_CONFIGURATION = {
    "images": {
        "base_url": "http://image.tmdb.org/t/p/", "secure_base_url": "https://image.tmdb.org/t/p/",
        "backdrop_sizes": ["w300", "w780", "w1280", "original"],
        "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
    },
    "change_keys": [],
}

__all__ = ["TmdbEmulator", "DEFAULT_API_KEY", "DEFAULT_BEARER", "genre_id"]


def _spoken_languages(t) -> list[dict]:
    # The emulated catalog knows only the original language; its code stands in for the names.
    if not t.original_language:
        return []
    return [{"english_name": t.original_language, "iso_639_1": t.original_language, "name": t.original_language}]
