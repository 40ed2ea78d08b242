"""The server harness every emulator shares: a stdlib ThreadingHTTPServer on loopback, fault
injection, the request log and the ``/__emulator/`` control routes.

A service subclasses :class:`EmulatorServer` and implements ``route()`` plus the bodies of
its own rate-limit and server-error answers; everything else is common.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plexrecs_emulators.faults import Faults, FaultsError, FaultState

log = logging.getLogger("plexrecs.emulators")

CONTROL_PREFIX = "/__emulator/"
MAX_LOGGED_REQUESTS = 100_000


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    query_list: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> "Response":
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, content_type, dict(headers or {}))

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8",
             headers: dict[str, str] | None = None) -> "Response":
        return cls(status, text.encode("utf-8"), content_type, dict(headers or {}))


def format_seconds(value: float) -> str:
    """Retry-After in whole seconds when possible; fractions stay so tests can keep waits short."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class EmulatorServer:
    """One emulated service on its own port."""

    name = "service"
    url_prefix = ""  # e.g. "/3" for TMDb, "/v1" for the LLM
    secret_params: tuple[str, ...] = ()

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None):
        self.host = host
        self.port = port
        self.faults = FaultState(faults)
        self._requests: list[dict] = []
        self._log_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> "EmulatorServer":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"emulator-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on injected latency
        httpd.shutdown()
        httpd.server_close()
        with self._sockets_lock:
            for sock in list(self._sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._sockets.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.root_url + self.url_prefix

    # ------------------------------------------------------------ in-process API
    def set_faults(self, **changes: Any) -> Faults:
        return self.faults.update(changes)

    def requests(self) -> list[dict]:
        with self._log_lock:
            return [dict(r) for r in self._requests]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def state(self) -> dict:
        """Service-specific state shown at ``GET /__emulator/state``."""
        return {}

    # --------------------------------------------------------- service contract
    def route(self, req: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def too_many_requests(self, retry_after: str) -> Response:
        return Response.json({"error": "Too Many Requests"}, 429, headers={"Retry-After": retry_after})

    def server_error(self) -> Response:
        return Response.json({"error": "Internal Server Error"}, 500)

    def credentials_rejected(self) -> bool:
        """Services call this inside their own key check: the bad_credentials knob wins."""
        return self.faults.current.bad_credentials

    # ---------------------------------------------------------------- plumbing
    def handle(self, req: Request) -> Response:
        control = self._control_path(req.path)
        if control is not None:
            return self._control(req, control)
        faults = self.faults.current
        if faults.latency_s > 0 and self._stopping.wait(faults.latency_s):
            return Response.text("emulator stopping", 503)
        r429, r500, rbad = self.faults.draw()
        if self.faults.over_rps() or r429 < faults.rate_429:
            resp = self.too_many_requests(format_seconds(faults.retry_after_s))
            resp.headers.setdefault("Retry-After", format_seconds(faults.retry_after_s))
        elif r500 < faults.rate_500:
            resp = self.server_error()
        else:
            try:
                resp = self.route(req)
            except Exception:  # an emulator bug must surface as a 500, not a dropped socket
                log.exception("%s: unhandled error for %s %s", self.name, req.method, req.path)
                resp = self.server_error()
            if rbad < faults.malformed_rate and 200 <= resp.status < 300:
                resp = Response(200, _truncate(resp.body), resp.content_type, resp.headers)
        self._record(req, resp.status)
        return resp

    def _control_path(self, path: str) -> str | None:
        # Also under the service prefix, so a client holding only the base URL can reach them.
        for prefix in (CONTROL_PREFIX, self.url_prefix + CONTROL_PREFIX):
            if path.startswith(prefix):
                return path[len(prefix):].strip("/")
        return None

    def _control(self, req: Request, what: str) -> Response:
        if what == "faults":
            if req.method == "GET":
                return Response.json(self.faults.current.to_dict())
            if req.method in ("PUT", "PATCH", "POST"):
                try:
                    return Response.json(self.faults.update(req.json()).to_dict())
                except (ValueError, FaultsError) as exc:
                    return Response.json({"error": str(exc)}, 400)
        elif what == "requests":
            if req.method == "GET":
                entries = self.requests()
                return Response.json({"service": self.name, "count": len(entries), "requests": entries})
            if req.method == "DELETE":
                self.clear_requests()
                return Response.json({"service": self.name, "count": 0, "requests": []})
        elif what == "state" and req.method == "GET":
            return Response.json({"service": self.name, **self.state()})
        else:
            extra = self.control(req, what)
            if extra is not None:
                return extra
            return Response.json({"error": f"unknown emulator control route: {what}"}, 404)
        return Response.json({"error": f"method {req.method} not allowed on /__emulator/{what}"}, 405)

    def control(self, req: Request, what: str) -> Response | None:
        """Hook for extra control routes (the LLM's options)."""
        return None

    def _record(self, req: Request, status: int) -> None:
        secret = {p.lower() for p in self.secret_params}
        query = {k: v for k, v in req.query.items() if k.lower() not in secret}
        entry = {"method": req.method, "path": req.path, "query": query, "status": status}
        with self._log_lock:
            if len(self._requests) >= MAX_LOGGED_REQUESTS:
                del self._requests[: MAX_LOGGED_REQUESTS // 10]
            self._requests.append(entry)


def _truncate(body: bytes) -> bytes:
    # Half a JSON document is never valid JSON; an empty body would be too easy to special-case.
    cut = max(1, len(body) // 2)
    return body[:cut] if body else b"{"


def _make_handler(server: EmulatorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, keep-alive clients would
        # wait for the delayed ACK (~40 ms) on every request.
        disable_nagle_algorithm = True
        server_version = f"plexrecs-emulator-{server.name}"
        sys_version = ""

        def setup(self):
            super().setup()
            with server._sockets_lock:
                server._sockets.add(self.connection)

        def finish(self):
            try:
                super().finish()
            finally:
                with server._sockets_lock:
                    server._sockets.discard(self.connection)

        def _serve(self):
            parts = urlsplit(self.path)
            query_list = parse_qsl(parts.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            req = Request(
                method=self.command,
                path=parts.path or "/",
                query=dict(query_list),
                query_list=query_list,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            resp = server.handle(req)
            try:
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(resp.body)))
                for name, value in resp.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            # The stdlib logs the raw request line, which would carry api keys in the query.
            return

    return Handler
