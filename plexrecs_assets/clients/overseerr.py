"""Overseerr API v1 client: availability of a TMDb title and media requests."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from plexrecs_assets.clients.base import CheckResult, HttpClient, RetryPolicy, ServiceError

# MediaStatus enum (mediaInfo.status)
UNKNOWN, PENDING, PROCESSING, PARTIALLY_AVAILABLE, AVAILABLE = 1, 2, 3, 4, 5
# Overseerr wraps a TMDb lookup failure (e.g. an id TMDb does not know) in this 500.
_UNKNOWN_ID_MESSAGE = "unable to retrieve"
# One retry for that 500: it is usually permanent, but TMDb hiccups produce the same reply.
_UNKNOWN_ID_ATTEMPTS = 2


@dataclass(frozen=True)
class MediaStatus:
    status: int  # 1 unknown, 2 pending, 3 processing, 4 partially available, 5 available
    requested: bool
    available: bool  # partially available counts: the household already has part of it
    unknown_id: bool = False  # Overseerr could not find the TMDb id at all


@dataclass(frozen=True)
class RequestOutcome:
    created: bool
    duplicate: bool
    no_seasons: bool
    request_id: int | None
    status: int | None  # MediaRequestStatus of a created request: 1 pending, 2 approved, ...
    message: str | None = None


def status_from_payload(body: dict[str, Any]) -> MediaStatus:
    info = body.get("mediaInfo") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return MediaStatus(UNKNOWN, requested=False, available=False)
    try:
        status = int(info.get("status") or UNKNOWN)
    except (TypeError, ValueError):
        status = UNKNOWN
    requested = bool(info.get("requests")) or status in (PENDING, PROCESSING)
    return MediaStatus(status, requested=requested, available=status in (PARTIALLY_AVAILABLE, AVAILABLE))


def _check_medium(medium: str) -> str:
    if medium not in ("movie", "tv"):
        raise ValueError(f"medium must be 'movie' or 'tv', got {medium!r}")
    return medium


class OverseerrClient(HttpClient):
    service = "overseerr"

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        base_url = base_url.rstrip("/")
        if base_url.endswith("/api/v1"):
            base_url = base_url[: -len("/api/v1")]
        super().__init__(base_url, timeout_s=timeout_s, retry=retry,
                         headers={"X-Api-Key": api_key, "Accept": "application/json"}, secrets=[api_key],
                         transport=transport)

    def attempts_for(self, response: httpx.Response) -> int:
        if response.status_code == 500 and _UNKNOWN_ID_MESSAGE in response.text.lower():
            return min(_UNKNOWN_ID_ATTEMPTS, self.retry.attempts)
        return super().attempts_for(response)

    def media_status(self, tmdb_id: int, medium: str) -> MediaStatus:
        medium = _check_medium(medium)
        try:
            body = self.get_json(f"/api/v1/{medium}/{int(tmdb_id)}")
        except ServiceError as exc:
            if exc.status == 500 and _UNKNOWN_ID_MESSAGE in exc.detail.lower():
                return MediaStatus(UNKNOWN, requested=False, available=False, unknown_id=True)
            raise
        return status_from_payload(body)

    def request(self, tmdb_id: int, medium: str, seasons: list[int] | None = None) -> RequestOutcome:  # type: ignore[override]
        """Request a title. TV asks for explicit seasons (default season 1), never "all".

        The server does not refuse a title that is already available (it creates a request);
        callers check ``media_status`` first."""
        medium = _check_medium(medium)
        # is4k explicitly: Overseerr's duplicate check compares it, and finds nothing when it is absent.
        payload: dict[str, Any] = {"mediaType": medium, "mediaId": int(tmdb_id), "is4k": False}
        if medium == "tv":
            chosen = sorted({int(s) for s in seasons}) if seasons else [1]
            payload["seasons"] = chosen
        response, body = self.request_json("POST", "/api/v1/request", json=payload, ok_statuses={409})
        message = body.get("message") if isinstance(body, dict) else None
        if response.status_code == 409:
            return RequestOutcome(False, True, False, None, None, message or "request already exists")
        if response.status_code == 202:
            return RequestOutcome(False, False, True, None, None, message or "no seasons available to request")
        body = body if isinstance(body, dict) else {}
        return RequestOutcome(True, False, False, _int(body.get("id")), _int(body.get("status")), message)

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Escape hatch for endpoints this client does not wrap (same retries and errors)."""
        return HttpClient.request(self, method, path, **kwargs)

    def check(self) -> CheckResult:
        def probe() -> str:
            response, body = self.request_json("GET", "/api/v1/auth/me", attempts=2)
            if not isinstance(body, dict):
                raise self._error(str(response.request.url), "bad_response", "auth/me did not return a user")
            who = body.get("displayName") or body.get("username") or body.get("email") or body.get("id")
            return f"overseerr reachable, API key accepted (acting as {who})"

        return self.run_check(probe, auth_fix="bad API key: copy it from Overseerr Settings > General > API Key",
                              not_found_fix="wrong URL? give the server root, e.g. http://host:5055")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
