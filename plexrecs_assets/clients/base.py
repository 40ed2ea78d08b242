"""Shared HTTP behaviour for every service client: timeouts, retries with backoff,
typed errors that name the service and URL but never the secret.

No Dagster imports: the Dagster resources in ``defs/shared/resources.py`` wrap these clients.
"""
from __future__ import annotations

import email.utils
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable

import httpx

from plexrecs_assets.config import redact_url_password

log = logging.getLogger("plexrecs.clients")

RETRYABLE_STATUS = {429, 500, 502, 503, 504}
# Query parameters and headers that carry credentials in the services we talk to.
SECRET_PARAMS = ("apikey", "api_key", "X-Plex-Token", "token", "key")
SECRET_HEADERS = ("authorization", "x-plex-token", "x-api-key")


class ServiceError(RuntimeError):
    """A call to an external service failed for good.

    ``kind`` is one of: ``unreachable`` (connection refused, DNS, timeout), ``auth``
    (credentials rejected), ``not_found``, ``rate_limited``, ``server`` (5xx after retries),
    ``bad_response`` (the body could not be understood), ``client`` (other 4xx), ``quota``
    (the account is out of credit: OpenAI's 429 ``insufficient_quota``, never retried)."""

    def __init__(self, service: str, url: str, kind: str, detail: str, status: int | None = None):
        self.service = service
        self.url = redact_url(url)
        self.kind = kind
        self.status = status
        self.detail = detail
        status_txt = f" HTTP {status}" if status is not None else ""
        super().__init__(f"{service}: {kind}{status_txt} at {self.url}: {detail}")


class ServiceAuthError(ServiceError):
    pass


def redact_url(url: str | httpx.URL) -> str:
    """Strip credentials from a URL's query string (keys are kept so the shape is visible) and
    the password from its ``user:password@`` part."""
    text = redact_url_password(str(url))
    for name in SECRET_PARAMS:
        text = re.sub(rf"([?&]{re.escape(name)}=)[^&#]*", r"\1***", text, flags=re.IGNORECASE)
    return text


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class RedactUrlsFilter(logging.Filter):
    """httpx logs every request URL at INFO, query string included: Tautulli's ``apikey`` and
    TMDb's ``api_key`` would reach any log configured at info. Redact them in the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


logging.getLogger("httpx").addFilter(RedactUrlsFilter())


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Read ``Retry-After`` (seconds or an HTTP date), or OpenAI's ``retry-after-ms``."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


@dataclass
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5  # first wait; doubles each attempt
    max_wait_s: float = 30.0

    def wait_for(self, attempt: int, response: httpx.Response | None) -> float:
        hinted = retry_after_seconds(response) if response is not None else None
        if hinted is not None:
            return min(hinted, self.max_wait_s)
        return min(self.backoff_s * (2 ** (attempt - 1)), self.max_wait_s)


@dataclass
class CheckResult:
    """What ``check()`` found: reachable and credentials accepted, or why not and how to fix it."""

    service: str
    ok: bool
    detail: str
    fix: str | None = None


class HttpClient:
    """One configured httpx client per service, with the retry loop every client shares."""

    service = "service"

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._secrets = [s for s in secrets if s]
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            headers=headers or {},
            params=params or {},
            transport=transport,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _error(self, url: str, kind: str, detail: str, status: int | None = None) -> ServiceError:
        cls = ServiceAuthError if kind == "auth" else ServiceError
        return cls(self.service, url, kind, redact_text(detail, self._secrets), status)

    def classify(self, response: httpx.Response) -> str | None:
        """Map a final, non-retryable response to an error kind (None = success)."""
        if response.status_code < 400:
            return None
        if response.status_code in (401, 403):
            return "auth"
        if response.status_code == 404:
            return "not_found"
        if response.status_code == 429:
            return "rate_limited"
        if response.status_code >= 500:
            return "server"
        return "client"

    def is_retryable(self, response: httpx.Response) -> bool:
        return response.status_code in RETRYABLE_STATUS

    def attempts_for(self, response: httpx.Response) -> int:
        """How many attempts this kind of failure deserves (a subclass can cap hopeless cases)."""
        return self.retry.attempts

    def request(self, method: str, path: str, *, ok_statuses: Iterable[int] = (), attempts: int | None = None,
                **kwargs: Any) -> httpx.Response:
        """Send with retries on 429 (honouring Retry-After), 5xx, connection errors and timeouts.

        ``ok_statuses`` lists non-2xx answers the caller handles itself (e.g. Overseerr's 409).
        ``attempts`` caps the policy's attempt count for this call (``check()`` uses it so a
        wrong URL is reported quickly).
        """
        response, _ = self._send(method, path, ok_statuses=ok_statuses, attempts=attempts, want_json=False,
                                 kwargs=kwargs)
        return response

    def request_json(self, method: str, path: str, *, ok_statuses: Iterable[int] = (),
                     attempts: int | None = None, **kwargs: Any) -> tuple[httpx.Response, Any]:
        """Like ``request`` but also decodes the body; a 2xx body that is not JSON is retried
        within the same attempt budget (proxies and overloaded servers sometimes truncate)."""
        return self._send(method, path, ok_statuses=ok_statuses, attempts=attempts, want_json=True, kwargs=kwargs)

    def _send(self, method: str, path: str, *, ok_statuses: Iterable[int], attempts: int | None, want_json: bool,
              kwargs: dict[str, Any]) -> tuple[httpx.Response, Any]:
        ok = set(ok_statuses)
        budget = min(attempts or self.retry.attempts, self.retry.attempts)
        url = f"{self.base_url}{path}"
        last_exc: Exception | None = None
        response: httpx.Response | None = None
        bad_body: str | None = None
        attempt = 0
        while attempt < budget:
            attempt += 1
            response, bad_body = None, None
            try:
                response = self._client.request(method, path, **kwargs)
                url = str(response.request.url)
            except httpx.TransportError as exc:  # includes every httpx.TimeoutException
                last_exc = exc
                log.warning("%s: %s on attempt %d/%d: %s", self.service, type(exc).__name__, attempt, budget,
                            redact_url(url))
            else:
                success = response.status_code < 400
                if success or response.status_code in ok:
                    if not want_json:
                        return response, None
                    try:
                        return response, response.json()
                    except ValueError:
                        if not success:  # an accepted error status may carry any body
                            return response, None
                        bad_body = response.text[:120]
                        log.warning("%s: malformed JSON body on attempt %d/%d: %s", self.service, attempt, budget,
                                    redact_url(url))
                else:
                    budget = min(budget, self.attempts_for(response))
                    if not self.is_retryable(response) or attempt >= budget:
                        break
                    log.warning("%s: HTTP %d on attempt %d/%d: %s", self.service, response.status_code, attempt,
                                budget, redact_url(url))
            if attempt < budget:
                time.sleep(self.retry.wait_for(attempt, response if bad_body is None else None))
        if response is None:
            detail = f"{type(last_exc).__name__}: {last_exc}" if last_exc else "no response"
            raise self._error(url, "unreachable", f"after {attempt} attempt(s): {detail}")
        if bad_body is not None:
            raise self._error(url, "bad_response", f"body is not JSON after {attempt} attempt(s): {bad_body!r}",
                              response.status_code)
        kind = self.classify(response) or "client"
        body = response.text[:300]
        raise self._error(url, kind, f"after {attempt} attempt(s): {body}", response.status_code)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request_json("GET", path, **kwargs)[1]

    def parse_json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._error(str(response.request.url), "bad_response",
                              f"body is not JSON: {response.text[:120]!r}", response.status_code) from exc

    def run_check(self, probe, *, auth_fix: str, not_found_fix: str = "wrong URL?") -> CheckResult:
        """Run ``probe`` (a cheap authenticated call) and turn its failure into a fix hint."""
        try:
            detail = probe()
        except ServiceError as exc:
            return CheckResult(self.service, False, str(exc), check_fix_hint(exc, auth_fix, not_found_fix))
        return CheckResult(self.service, True, detail or f"{self.service} reachable, credentials accepted")


def check_fix_hint(exc: ServiceError, auth_fix: str, not_found_fix: str = "wrong URL?") -> str:
    if exc.kind == "unreachable":
        return "server unreachable: is it running, and is the URL/port right?"
    if exc.kind == "auth":
        return auth_fix
    if exc.kind in ("not_found", "bad_response"):
        return not_found_fix
    if exc.kind == "rate_limited":
        return "rate limited: wait and retry"
    return "unexpected answer: is this the right service and URL?"
