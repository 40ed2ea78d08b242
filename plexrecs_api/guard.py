"""Browser protections for an API that has no auth by default.

Without ``API_TOKEN`` any web page a person visits could otherwise make their browser
``POST /v1/run`` (a form post spends LLM tokens and replaces Kometa files), and a page whose
domain re-resolves to 127.0.0.1 (DNS rebinding) could read every answer. So, before any route:

- ``Host`` must be an allowed host: a loopback name or address, the bind address (any IP
  address when bound to all interfaces: rebinding needs a domain name, never an IP literal),
  or an entry of ``api.allowed_hosts`` (``*`` turns the check off, ``.example.org`` allows
  that domain and its subdomains). Otherwise 400 ``host_not_allowed``.
- State-changing methods (POST, PUT, PATCH, DELETE) are refused with 403 ``origin_not_allowed``
  when they carry an ``Origin`` other than the API's own or one in ``api.allowed_hosts``
  (browsers send ``Origin`` on every such request; curl and scripts send none), and with 415
  ``unsupported_media_type`` when they carry a body, or a ``Content-Type``, that is not
  ``application/json`` (HTML forms cannot send JSON).
- Request bodies are limited to ``MAX_BODY_BYTES`` (413 ``payload_too_large``), chunked
  bodies without ``Content-Length`` included.
"""
from __future__ import annotations

import ipaddress
import json
from typing import Callable, Iterable
from urllib.parse import urlsplit

MAX_BODY_BYTES = 1024 * 1024
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def host_name(value: str) -> str:
    """``"[::1]:8080"`` → ``"::1"``, ``"Example.org.:80"`` → ``"example.org"``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.partition(":")[0].rstrip(".")


def _ip(name: str):
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _listed(name: str, allowed_hosts: Iterable[str]) -> bool:
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry.startswith("."):
            if name == entry[1:] or name.endswith(entry):
                return True
        elif name == host_name(entry):
            return True
    return False


def host_allowed(host: str, bind_host: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether a request's ``Host`` header names this API (see the module docstring)."""
    allowed_hosts = list(allowed_hosts)
    if "*" in allowed_hosts:
        return True
    name = host_name(host)
    if not name:
        return False
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    bind = host_name(bind_host) if bind_host else ""
    address = _ip(name)
    if address is not None:
        if address.is_loopback or bind in WILDCARD_BINDS:
            return True
        bind_address = _ip(bind)
        return bind_address is not None and address == bind_address
    return name == bind or _listed(name, allowed_hosts)


def origin_allowed(origin: str, host: str, allowed_hosts: Iterable[str]) -> bool:
    """``Origin`` of a state-changing request: the API's own origin, or a host listed in ``api.allowed_hosts``."""
    origin = origin.strip()
    if not origin or origin.lower() == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if host and parts.netloc.lower() == host.strip().lower():
        return True
    return _listed(host_name(parts.netloc), [h for h in allowed_hosts if h != "*"])


def is_json(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "application/json"


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"code": code, "message": message}}).encode()


class RequestGuard:
    """Pure ASGI middleware. ``settings()`` returns ``(bind_host, allowed_hosts)`` of the current
    configuration, so an edit of ``api.allowed_hosts`` applies without a restart."""

    def __init__(self, app, settings: Callable[[], tuple[str, list[str]]], max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.settings = settings
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        refusal = self._check_headers(scope["method"].upper(), headers)
        if refusal is None and self._has_body(headers):
            body, refusal = await self._read_body(receive, headers)
            if refusal is None:
                receive = _replay(body, receive)
        if refusal is not None:
            return await _send(send, *refusal)
        return await self.app(scope, receive, send)

    def _check_headers(self, method: str, headers: dict[bytes, bytes]) -> tuple[int, bytes] | None:
        bind_host, allowed_hosts = self.settings()
        host = headers.get(b"host", b"").decode("latin-1")
        if b"host" in headers and not host_allowed(host, bind_host, allowed_hosts):
            shown = host if len(host) <= 80 else host[:80] + "…"
            return _error(400, "host_not_allowed",
                          f"Host {shown!r} is not allowed; add it to api.allowed_hosts in app.yml "
                          "(loopback names and the bind address are always allowed)")
        if method not in STATE_CHANGING:
            return None
        origin = headers.get(b"origin")
        if origin is not None and not origin_allowed(origin.decode("latin-1"), host, allowed_hosts):
            return _error(403, "origin_not_allowed",
                          "cross-origin request refused: a web page may not change state in PlexRecs; "
                          "call the API from a script, or add the page's host to api.allowed_hosts")
        content_type = headers.get(b"content-type")
        if (content_type is not None and not is_json(content_type.decode("latin-1"))) or (
                content_type is None and self._has_body(headers)):
            return _error(415, "unsupported_media_type",
                          f"{method} needs Content-Type: application/json (or no body at all)")
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return _error(400, "bad_request", "Content-Length is not a number")
            if too_big:
                return self._too_large()
        return None

    def _too_large(self) -> tuple[int, bytes]:
        return _error(413, "payload_too_large", f"request body larger than {self.max_body} bytes")

    @staticmethod
    def _has_body(headers: dict[bytes, bytes]) -> bool:
        return b"transfer-encoding" in headers or headers.get(b"content-length", b"0").strip() not in (b"", b"0")

    async def _read_body(self, receive, headers) -> tuple[bytes, tuple[int, bytes] | None]:
        """The whole body, or a refusal as soon as it grows past the limit (chunked uploads
        have no Content-Length to check up front)."""
        if headers.get(b"content-length") is not None and b"transfer-encoding" not in headers:
            try:
                if int(headers[b"content-length"]) > self.max_body:
                    return b"", self._too_large()
            except ValueError:
                return b"", _error(400, "bad_request", "Content-Length is not a number")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"", (400, b"")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"", self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None


def _replay(body: bytes, receive):
    delivered = False

    async def replay():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send(send, status: int, body: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")],
    })
    await send({"type": "http.response.body", "body": body})
