"""TMDb API v3 client: search, details (with external ids and keywords), recommendations,
discover, genre and keyword lookups, normalised into small dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import httpx

from plexrecs_assets.clients.base import CheckResult, HttpClient, RetryPolicy

MEDIA = ("movie", "tv")
DEFAULT_BASE = "https://api.themoviedb.org/3"


@dataclass(frozen=True)
class TitleSummary:
    """One entry of a search / recommendations / similar / discover page."""

    tmdb_id: int
    medium: str
    title: str
    original_title: str | None
    year: int | None
    genre_ids: list[int] = field(default_factory=list)
    overview: str = ""
    popularity: float | None = None
    vote_count: int | None = None
    vote_average: float | None = None


@dataclass(frozen=True)
class TitleDetails:
    tmdb_id: int
    medium: str
    title: str
    original_title: str | None
    year: int | None
    genres: list[str]
    keywords: list[str]
    imdb_id: str | None
    tvdb_id: int | None
    runtime_min: int | None
    vote_count: int | None
    vote_average: float | None
    popularity: float | None
    overview: str
    original_language: str | None
    countries: list[str]


def looks_like_v4_token(key: str) -> bool:
    """v4 "API Read Access Tokens" are JWTs; v3 keys are 32 hex characters."""
    return key.startswith("eyJ") or (len(key) > 40 and key.count(".") >= 2)


def _check_medium(medium: str) -> str:
    if medium not in MEDIA:
        raise ValueError(f"medium must be 'movie' or 'tv', got {medium!r}")
    return medium


def _year(date_text: Any) -> int | None:
    if isinstance(date_text, str) and len(date_text) >= 4 and date_text[:4].isdigit():
        return int(date_text[:4])
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _names(row: dict[str, Any], medium: str) -> tuple[Any, Any, Any]:
    """(title, original title, first date): TMDb names these fields differently for TV."""
    if medium == "movie":
        return row.get("title"), row.get("original_title"), row.get("release_date")
    return row.get("name"), row.get("original_name"), row.get("first_air_date")


def summary_from_result(row: dict[str, Any], medium: str) -> TitleSummary:
    # /search/multi and trending tag each row; plain lists inherit the endpoint's medium
    medium = row.get("media_type") if row.get("media_type") in MEDIA else medium
    title, original, released = _names(row, medium)
    return TitleSummary(
        tmdb_id=int(row["id"]),
        medium=medium,
        title=str(title or original or ""),
        original_title=original,
        year=_year(released),
        genre_ids=[int(g) for g in row.get("genre_ids") or [] if _int(g) is not None],
        overview=row.get("overview") or "",
        popularity=_float(row.get("popularity")),
        vote_count=_int(row.get("vote_count")),
        vote_average=_float(row.get("vote_average")),
    )


def details_from_payload(body: dict[str, Any], medium: str) -> TitleDetails:
    external = body.get("external_ids") or {}
    keywords_block = body.get("keywords") or {}
    # the appended keywords nest differently: movie -> keywords.keywords, tv -> keywords.results
    keyword_rows = keywords_block.get("keywords") if medium == "movie" else keywords_block.get("results")
    if keyword_rows is None:
        keyword_rows = keywords_block.get("results") or keywords_block.get("keywords") or []
    title, original, released = _names(body, medium)
    if medium == "movie":
        imdb_id = body.get("imdb_id") or external.get("imdb_id")
        runtime = _int(body.get("runtime")) or None  # TMDb uses 0 for "unknown"
        countries = [c.get("iso_3166_1") for c in body.get("production_countries") or [] if c.get("iso_3166_1")]
        countries = countries or list(body.get("origin_country") or [])
    else:
        imdb_id = external.get("imdb_id")  # TV has no top-level imdb_id
        run_times = [r for r in body.get("episode_run_time") or [] if _int(r)]
        last_episode = body.get("last_episode_to_air") or {}
        runtime = _int(run_times[0]) if run_times else (_int(last_episode.get("runtime")) or None)
        countries = list(body.get("origin_country") or [])
    return TitleDetails(
        tmdb_id=int(body["id"]),
        medium=medium,
        title=str(title or original or ""),
        original_title=original,
        year=_year(released),
        genres=[g["name"] for g in body.get("genres") or [] if g.get("name")],
        keywords=[k["name"] for k in keyword_rows if k.get("name")],
        imdb_id=imdb_id or None,
        tvdb_id=_int(external.get("tvdb_id")),
        runtime_min=runtime,
        vote_count=_int(body.get("vote_count")),
        vote_average=_float(body.get("vote_average")),
        popularity=_float(body.get("popularity")),
        overview=body.get("overview") or "",
        original_language=body.get("original_language"),
        countries=countries,
    )


class TmdbClient(HttpClient):
    service = "tmdb"

    def __init__(self, base_url: str = DEFAULT_BASE, api_key: str | None = None, bearer_token: str | None = None, *,
                 timeout_s: float = 30.0, retry: RetryPolicy | None = None, language: str | None = None,
                 transport: httpx.BaseTransport | None = None):
        if not api_key and not bearer_token:
            raise ValueError("TmdbClient needs api_key (v3 key or v4 token) or bearer_token")
        headers: dict[str, str] = {"Accept": "application/json"}
        params: dict[str, str] = {}
        token = bearer_token or (api_key if api_key and looks_like_v4_token(api_key) else None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        else:
            params["api_key"] = str(api_key)
        if language:
            params["language"] = language
        super().__init__(base_url or DEFAULT_BASE, timeout_s=timeout_s, retry=retry, headers=headers, params=params,
                         secrets=[api_key, bearer_token], transport=transport)
        self._genres: dict[str, dict[str, int]] = {}
        self._keyword_ids: dict[str, int | None] = {}

    def _page(self, path: str, medium: str, params: dict[str, Any]) -> list[TitleSummary]:
        body = self.get_json(path, params={k: v for k, v in params.items() if v is not None})
        return [summary_from_result(row, medium) for row in (body or {}).get("results") or [] if "id" in row]

    def search_raw(self, title: str, year: int | None = None, medium: str = "movie", page: int = 1) -> list[dict]:
        medium = _check_medium(medium)
        year_param = "primary_release_year" if medium == "movie" else "first_air_date_year"
        params = {"query": title, year_param: year, "page": page, "include_adult": "false"}
        body = self.get_json(f"/search/{medium}", params={k: v for k, v in params.items() if v is not None})
        return list((body or {}).get("results") or [])

    def search(self, title: str, year: int | None = None, medium: str = "movie", page: int = 1) -> list[dict]:
        """Raw search rows (as TMDb returns them); see ``search_titles`` for normalised ones."""
        return self.search_raw(title, year, medium, page)

    def search_titles(self, title: str, year: int | None = None, medium: str = "movie",
                      page: int = 1) -> list[TitleSummary]:
        return [summary_from_result(r, medium) for r in self.search_raw(title, year, medium, page) if "id" in r]

    def details_raw(self, tmdb_id: int, medium: str) -> dict:
        medium = _check_medium(medium)
        return self.get_json(f"/{medium}/{int(tmdb_id)}", params={"append_to_response": "external_ids,keywords"})

    def details(self, tmdb_id: int, medium: str) -> TitleDetails:
        return details_from_payload(self.details_raw(tmdb_id, medium), _check_medium(medium))

    def find_tv_by_tvdb(self, tvdb_id: int) -> int | None:
        """The TMDb id of the show with this TVDB id, or None."""
        body = self.get_json(f"/find/{int(tvdb_id)}", params={"external_source": "tvdb_id"})
        rows = body.get("tv_results") if isinstance(body, dict) else None
        first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        return _int(first.get("id"))

    def recommendations(self, tmdb_id: int, medium: str, page: int = 1) -> list[TitleSummary]:
        medium = _check_medium(medium)
        return self._page(f"/{medium}/{int(tmdb_id)}/recommendations", medium, {"page": page})

    def similar(self, tmdb_id: int, medium: str, page: int = 1) -> list[TitleSummary]:
        medium = _check_medium(medium)
        return self._page(f"/{medium}/{int(tmdb_id)}/similar", medium, {"page": page})

    def discover(self, medium: str, with_genres: Iterable[int] | None = None,
                 without_genres: Iterable[int] | None = None, with_keywords: Iterable[int] | None = None,
                 sort_by: str = "popularity.desc", page: int = 1, **extra: Any) -> list[TitleSummary]:
        """Genre/keyword ids are AND-ed with ',' by TMDb; pass a pre-joined '|' string for OR."""
        medium = _check_medium(medium)
        params = {
            "with_genres": _join(with_genres),
            "without_genres": _join(without_genres),
            "with_keywords": _join(with_keywords),
            "sort_by": sort_by,
            "page": page,
            **extra,
        }
        return self._page(f"/discover/{medium}", medium, params)

    def discover_page(self, medium: str, page: int = 1, **params: Any) -> tuple[list[TitleSummary], int]:
        """One discover page and TMDb's ``total_pages``, so a caller can tell when it runs out."""
        medium = _check_medium(medium)
        query = {"sort_by": "popularity.desc", **params, "page": page}
        body = self.get_json(f"/discover/{medium}", params={k: v for k, v in query.items() if v is not None}) or {}
        rows = [summary_from_result(row, medium) for row in body.get("results") or [] if "id" in row]
        try:
            total = int(body.get("total_pages") or 0)
        except (TypeError, ValueError):
            total = 0
        return rows, total

    def genres(self, medium: str) -> dict[str, int]:
        """Genre name -> id for the medium (fetched once per client)."""
        medium = _check_medium(medium)
        if medium not in self._genres:
            body = self.get_json(f"/genre/{medium}/list")
            self._genres[medium] = {g["name"]: int(g["id"]) for g in (body or {}).get("genres") or []}
        return dict(self._genres[medium])

    def keyword_ids(self, names: Iterable[str]) -> list[int]:
        """TMDb keyword ids for names (exact, case-insensitive match preferred; unknown names skipped)."""
        ids: list[int] = []
        for name in names:
            key = name.strip().lower()
            if not key:
                continue
            if key not in self._keyword_ids:
                body = self.get_json("/search/keyword", params={"query": name.strip()})
                rows = (body or {}).get("results") or []
                exact = [r for r in rows if str(r.get("name", "")).lower() == key]
                best = (exact or rows[:1] or [None])[0]
                self._keyword_ids[key] = int(best["id"]) if best else None
            found = self._keyword_ids[key]
            if found is not None and found not in ids:
                ids.append(found)
        return ids

    def check(self) -> CheckResult:
        def probe() -> str:
            # /authentication exists only to validate credentials
            body = self.get_json("/authentication", attempts=2)
            if not isinstance(body, dict) or body.get("success") is not True:
                raise self._error(f"{self.base_url}/authentication", "bad_response", "not a TMDb answer")
            return "tmdb reachable, API key accepted"

        return self.run_check(probe, auth_fix="bad API key: use a v3 API key or a v4 read access token",
                              not_found_fix="wrong URL? the TMDb base ends in /3, e.g. https://api.themoviedb.org/3")


def _join(values: Iterable[int] | str | None) -> str | None:
    if values is None:
        return None
    if isinstance(values, str):
        return values or None
    joined = ",".join(str(v) for v in values)
    return joined or None
