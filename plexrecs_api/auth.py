"""Optional bearer-token auth: set ``API_TOKEN`` in the environment to require
``Authorization: Bearer <token>`` on every endpoint except ``/v1/health`` (so container health
checks keep working) and the API documentation. Without ``API_TOKEN`` there is no auth, as the
spec asks for a sidecar bound to a private address.
"""
from __future__ import annotations

import hmac
import json

OPEN_PATHS = frozenset({"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

_UNAUTHORIZED = json.dumps(
    {"error": {"code": "unauthorized", "message": "missing or wrong bearer token (send Authorization: Bearer <API_TOKEN>)"}}
).encode()


class BearerAuth:
    """Pure ASGI middleware: no per-request overhead beyond one header comparison."""

    def __init__(self, app, token: str):
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            return await self.app(scope, receive, send)
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                (b"www-authenticate", b'Bearer realm="plexrecs"'),
            ],
        })
        await send({"type": "http.response.body", "body": _UNAUTHORIZED})
