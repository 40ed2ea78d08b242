"""Tautulli API v2 emulator: ``get_history``, ``get_users``, ``get_metadata`` and the cheap
commands a health check uses (``get_server_info``, ``get_tautulli_info``, ``status``, ``arnold``)."""
from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import asdict, dataclass, fields, replace
from urllib.parse import parse_qsl

from plexrecs_emulators.faults import Faults
from plexrecs_emulators.http import EmulatorServer, Request, Response
from plexrecs_emulators.library import Library
from plexrecs_assets.demo import EMULATOR_KEYS

DEFAULT_API_KEY = EMULATOR_KEYS["tautulli"]
CONTENT_TYPE = "application/json;charset=UTF-8"
COMMANDS = ("arnold", "get_history", "get_metadata", "get_server_info", "get_tautulli_info", "get_user",
            "get_users", "status")
ORDER_COLUMNS = {"date", "friendly_name", "ip_address", "platform", "product", "player", "full_title",
                 "started", "paused_counter", "stopped", "duration"}
HISTORY_DEFAULTS = {
    "reference_id": None, "row_id": None, "id": None, "date": None, "started": None, "stopped": None,
    "duration": 0, "play_duration": 0, "paused_counter": 0, "user_id": None, "user": "", "friendly_name": "",
    "user_thumb": "", "platform": "Chrome", "product": "Plex Web", "player": "Chrome", "ip_address": "127.0.0.1",
    "live": 0, "machine_id": "", "location": "lan", "secure": 1, "relayed": 0, "media_type": "movie",
    "rating_key": None, "parent_rating_key": None, "grandparent_rating_key": None, "full_title": "",
    "title": "", "parent_title": "", "grandparent_title": "", "original_title": "", "year": None,
    "media_index": None, "parent_media_index": None, "thumb": "", "originally_available_at": "", "guid": "",
    "transcode_decision": "direct play", "percent_complete": 100, "watched_status": 1, "group_count": 1,
    "group_ids": "", "state": None, "session_key": None,
}


MAX_COST_S = 10.0


@dataclass(frozen=True)
class HistoryCost:
    """How long ``get_history`` takes, in seconds (``PUT /__emulator/options``). A real Tautulli
    (v2.17.2, measured) answers a 1000-row page at offset 30,000 in ~0.85 s and one 31,000-row
    page in ~2.6 s: roughly ``query_s`` 0.05 + ``offset_row_s`` 25e-6 + ``row_s`` 80e-6.
    All 0 by default so tests stay fast; the benchmarks set the measured values."""

    query_s: float = 0.0  # per call
    offset_row_s: float = 0.0  # per row skipped before ``start``
    row_s: float = 0.0  # per row returned

    def updated(self, changes: dict) -> "HistoryCost":
        if not isinstance(changes, dict):
            raise ValueError(f"options: expected a JSON object, got {type(changes).__name__}")
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"options.{name}: unknown option (known: {', '.join(sorted(known))})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 <= value <= MAX_COST_S:
                raise ValueError(f"options.{name}: expected seconds between 0 and {MAX_COST_S:g}, got {value!r}")
        return replace(self, **{k: float(v) for k, v in changes.items()})


# What a real Tautulli v2.17.2 measured like (see HistoryCost); the benchmarks use it.
MEASURED_COST = {"query_s": 0.05, "offset_row_s": 25e-6, "row_s": 80e-6}


def envelope(data=None, *, result: str = "success", message: str | None = None, status: int = 200) -> Response:
    return Response.json({"response": {"result": result, "message": message,
                                       "data": {} if data is None else data}}, status, CONTENT_TYPE)


def error(message: str, status: int = 400) -> Response:
    return envelope(result="error", message=message, status=status)


def human_duration(seconds: int) -> str:
    """Tautulli's "3 days 4 hrs 5 mins" style."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hr{'s' if hours != 1 else ''}")
    if minutes or not parts:
        parts.append(f"{minutes} min{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _sanitize(value):
    if isinstance(value, str):
        return value.replace("<", "&lt;").replace(">", "&gt;")
    return value


class TautulliEmulator(EmulatorServer):
    name = "tautulli"
    secret_params = ("apikey",)

    def __init__(self, library: Library, *, api_key: str = DEFAULT_API_KEY, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None):
        super().__init__(host=host, port=port, faults=faults)
        self.library = library
        self.api_key = api_key
        world = library.world
        self.users = list(world.users)
        # The world's rows as loaded, not a completed copy: a 100,000-play world would otherwise
        # hold every row twice (~0.9 GB). Rows are completed with the defaults page by page.
        self.history = world.history
        self._total_duration = sum(_int(r.get("play_duration") or r.get("duration")) for r in self.history
                                   if isinstance(r, dict))
        self._cost = HistoryCost()
        self._cost_lock = threading.Lock()
        self._charged_s = 0.0  # simulated seconds of get_history so far (shown in /__emulator/state)

    # ------------------------------------------------------------- cost model
    @property
    def cost(self) -> "HistoryCost":
        with self._cost_lock:
            return self._cost

    def set_options(self, **changes) -> "HistoryCost":
        with self._cost_lock:
            self._cost = self._cost.updated(changes)
            return self._cost

    def control(self, req: Request, what: str) -> Response | None:
        if what != "options":
            return None
        if req.method == "GET":
            return Response.json(asdict(self.cost))
        if req.method in ("PUT", "PATCH", "POST"):
            try:
                return Response.json(asdict(self.set_options(**(req.json() or {}))))
            except (ValueError, TypeError) as exc:
                return Response.json({"error": str(exc)}, 400)
        return Response.json({"error": f"method {req.method} not allowed on /__emulator/options"}, 405)

    def state(self) -> dict:
        with self._cost_lock:
            charged = self._charged_s
        return {"options": asdict(self.cost), "history_rows": len(self.history),
                "history_cost_s": round(charged, 6)}

    def too_many_requests(self, retry_after: str) -> Response:
        resp = error("Too many requests", 429)
        resp.headers["Retry-After"] = retry_after
        return resp

    def server_error(self) -> Response:
        return error("Check the logs for errors", 500)

    def _complete_row(self, n: int, row) -> dict:
        if not isinstance(row, dict):
            return row  # an odd row (e.g. ``null``) is served as it is, so clients meet it
        out = dict(HISTORY_DEFAULTS)
        out.update(row)
        for key in ("reference_id", "row_id", "id"):
            if out[key] is None:
                out[key] = row.get("row_id") or row.get("id") or n
        out["date"] = out["date"] if out["date"] is not None else out["started"]
        out["started"] = out["started"] if out["started"] is not None else out["date"]
        if not out["group_ids"]:
            out["group_ids"] = str(out["row_id"])
        if not out["play_duration"] and out["duration"]:
            out["play_duration"] = out["duration"]
        if not out["duration"] and out["play_duration"]:
            out["duration"] = out["play_duration"]
        return {k: _sanitize(v) for k, v in out.items()}

    # ------------------------------------------------------------------ routes
    def route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        params = dict(req.query)
        if req.method == "POST" and req.body:
            params.update(dict(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)))
        if path == "/api" or (path.startswith("/api/") and "v2" not in path):
            return error("Please use the /api/v2 endpoint.")
        if not path.startswith("/api/"):
            return Response.text("Not Found", 404, "text/html;charset=utf-8")
        possible = ", ".join(COMMANDS)
        if "apikey" not in params:
            return error("Parameter apikey is required")
        if not params.get("cmd"):
            return error(f"Parameter cmd is required. Possible commands are: {possible}")
        cmd = params["cmd"]
        if cmd not in COMMANDS:
            return error(f"Unknown command: {cmd}. Possible commands are: {possible}")
        if self.credentials_rejected() or params["apikey"] != self.api_key:
            return error("Invalid apikey")
        handler = getattr(self, f"cmd_{cmd}")
        try:
            return handler(params)
        except (TypeError, ValueError):
            return self.server_error()

    # ---------------------------------------------------------------- commands
    def cmd_status(self, params: dict) -> Response:
        return envelope(message="Ok")

    def cmd_arnold(self, params: dict) -> Response:
        return envelope("I'll be back.")

    def cmd_get_tautulli_info(self, params: dict) -> Response:
        return envelope({"tautulli_install_type": "emulator", "tautulli_version": "v2.15.0",
                         "tautulli_branch": "master", "tautulli_commit": "emulator",
                         "tautulli_platform": "Linux", "tautulli_python_version": "3.11"})

    def cmd_get_server_info(self, params: dict) -> Response:
        return envelope({"pms_identifier": self.library.machine_identifier, "pms_ip": "127.0.0.1",
                         "pms_is_remote": 0, "pms_name": self.library.friendly_name, "pms_platform": "Linux",
                         "pms_plexpass": 1, "pms_port": 32400, "pms_ssl": 0, "pms_url": "http://127.0.0.1:32400",
                         "pms_url_manual": 0, "pms_version": self.library.version})

    def _listed_users(self):
        # Tautulli keeps a deleted user's row (and plays) but get_users leaves it out.
        return [(n, u) for n, u in enumerate(self.users, start=1) if not u.get("deleted_user")]

    def cmd_get_users(self, params: dict) -> Response:
        return envelope([self._user(n, u) for n, u in self._listed_users()])

    def cmd_get_user(self, params: dict) -> Response:
        wanted = str(params.get("user_id", ""))
        for n, u in self._listed_users():
            if str(u.get("user_id")) == wanted:
                return envelope(self._user(n, u))
        return envelope({})

    def _user(self, n: int, raw: dict) -> dict:
        user = {"row_id": n, "user_id": None, "username": "", "friendly_name": "", "thumb": "", "email": "",
                "is_active": 1, "is_admin": 0, "is_home_user": 0, "is_allow_sync": 1, "is_restricted": 0,
                "do_notify": 1, "keep_history": 1, "allow_guest": 0, "shared_libraries": [],
                "filter_all": "", "filter_movies": "", "filter_tv": "", "filter_music": "", "filter_photos": ""}
        user.update({k: v for k, v in raw.items() if k != "deleted_user"})
        user["friendly_name"] = user["friendly_name"] or user["username"]
        return user

    def cmd_get_history(self, params: dict) -> Response:
        start = int(params.get("start") or 0)
        length = int(params.get("length") or 25)
        # Like Tautulli's SQL, every page runs the whole query again (nothing is cached) and the
        # rows before ``start`` are produced and thrown away, so cost grows with the offset.
        indices, filtered_seconds = self._filter_history(params)
        page = indices[start:start + length] if length >= 0 else indices[start:]
        self._pay(start, len(page))
        return envelope({
            "recordsTotal": len(self.history),
            "recordsFiltered": len(indices),
            "draw": int(params.get("draw") or 1),
            "total_duration": human_duration(self._total_duration),
            "filter_duration": human_duration(filtered_seconds),
            "data": [self._complete_row(i + 1, self.history[i]) for i in page],
        })

    def _pay(self, start: int, rows: int) -> None:
        cost = self.cost
        delay = cost.query_s + cost.offset_row_s * start + cost.row_s * rows
        with self._cost_lock:
            self._charged_s += delay
        if delay > 0:
            self._stopping.wait(delay)

    def _filter_history(self, params: dict) -> tuple[list[int], int]:
        """Indices into ``self.history`` of the matching rows, ordered, and their play seconds."""
        rows = self.history
        tests = []
        user_ids = _split(params.get("user_id"))
        if user_ids:
            tests.append(lambda r: str(r.get("user_id")) in user_ids)
        elif params.get("user"):
            names = _split(params["user"])
            tests.append(lambda r: r.get("user") in names)
        media_types = _split(params.get("media_type"))
        if media_types and "all" not in media_types:
            tests.append(lambda r: ("live" if r.get("live") else r.get("media_type")) in media_types)
        for key in ("rating_key", "parent_rating_key", "grandparent_rating_key", "section_id"):
            wanted = _split(params.get(key))
            if wanted:
                tests.append(lambda r, key=key, wanted=wanted: str(r.get(key)) in wanted)
        if params.get("guid"):
            prefix = params["guid"].split("?")[0]
            tests.append(lambda r: str(r.get("guid") or "").startswith(prefix))
        low, high = _day_bounds(params.get("after"), params.get("before"), params.get("start_date"))
        if low is not None or high is not None:
            tests.append(lambda r: _in_range(_row_time(r), low, high))
        if params.get("search"):
            needle = params["search"].lower()
            tests.append(lambda r: needle in f"{r.get('full_title')} {r.get('friendly_name')}".lower())
        matching = [i for i, r in enumerate(rows) if isinstance(r, dict) and all(t(r) for t in tests)]
        matching = _ordered(rows, matching, params.get("order_column") or "date", params.get("order_dir") or "desc")
        # Odd rows (not objects, e.g. ``null``) come last in every query without an upper day
        # bound, once per history read however it is paged: a client must survive them.
        if high is None:
            matching += [i for i, r in enumerate(rows) if not isinstance(r, dict)]
        seconds = sum(_int(rows[i].get("play_duration") or rows[i].get("duration"))
                      for i in matching if isinstance(rows[i], dict))
        return matching, seconds

    def cmd_get_metadata(self, params: dict) -> Response:
        rating_key = str(params.get("rating_key") or "")
        item = self.library.by_rating_key.get(rating_key)
        if item is not None:
            return envelope(self._item_metadata(item))
        row = next((r for r in self.history if isinstance(r, dict) and str(r.get("rating_key")) == rating_key
                    and r.get("media_type") == "episode"), None)
        if row is not None:
            return envelope(self._episode_metadata(row))
        return envelope({})

    def _item_metadata(self, item) -> dict:
        title = self.library.title_of(item) or self.library.legacy_title(item)
        section = self.library.section(item.section_id) or {"title": ""}
        data = {
            "media_type": item.media_type, "section_id": item.section_id, "library_name": section["title"],
            "rating_key": item.rating_key, "parent_rating_key": "", "grandparent_rating_key": "",
            "title": item.title, "parent_title": "", "grandparent_title": "",
            "original_title": title.original_title if title and title.original_title != item.title else "",
            "sort_title": item.title, "full_title": item.title, "media_index": "", "parent_media_index": "",
            "year": str(item.year) if item.year is not None else "", "parent_year": "", "grandparent_year": "",
            "duration": str((title.runtime_min or 0) * 60_000) if title else "",
            "added_at": str(item.added_at), "updated_at": str(item.added_at), "last_viewed_at": "",
            "originally_available_at": title.date if title else "", "summary": "", "tagline": "",
            "studio": "", "content_rating": "", "rating": "", "audience_rating": "", "user_rating": "",
            "thumb": f"/library/metadata/{item.rating_key}/thumb", "art": "",
            "guid": self.library.plex_guid(item), "parent_guid": "", "grandparent_guid": "",
            "guids": self.library.external_guids(item), "parent_guids": [], "grandparent_guids": [],
            "genres": list(title.genres) if title else [], "directors": [], "writers": [], "actors": [],
            "labels": [], "collections": [], "live": 0, "media_info": [],
        }
        if item.media_type == "show":
            data["children_count"] = (title.number_of_seasons if title else None) or 1
        return data

    def _episode_metadata(self, row: dict) -> dict:
        show_key = str(row.get("grandparent_rating_key") or "")
        show = self.library.by_rating_key.get(show_key)
        if show is None:
            show = next((i for i in self.library.items if i.media_type == "show"
                         and i.title == row.get("grandparent_title")), None)
        if show is None:
            return {}  # the show left the library: Tautulli can no longer ask Plex about it
        rk = str(row.get("rating_key"))
        episode_guids = [] if show.agent == "legacy" else [f"tmdb://{900_000_000 + int(rk) if rk.isdigit() else 0}"]
        section = self.library.section(show.section_id) or {"title": ""}
        return {
            "media_type": "episode", "section_id": show.section_id, "library_name": section["title"],
            "rating_key": rk, "parent_rating_key": str(row.get("parent_rating_key") or ""),
            "grandparent_rating_key": show.rating_key, "title": row.get("title") or "",
            "parent_title": row.get("parent_title") or "", "grandparent_title": show.title,
            "original_title": "", "full_title": row.get("full_title") or "",
            "media_index": str(row.get("media_index") or ""),
            "parent_media_index": str(row.get("parent_media_index") or ""),
            "year": str(row.get("year") or show.year or ""), "duration": str(int(row.get("duration") or 0) * 1000),
            "added_at": str(show.added_at), "live": 0, "guid": str(row.get("guid") or ""),
            "parent_guid": "", "grandparent_guid": self.library.plex_guid(show),
            "guids": episode_guids, "parent_guids": [], "grandparent_guids": self.library.external_guids(show),
            "genres": [], "summary": "",
        }


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _row_time(row: dict) -> int | None:
    ts = row.get("started") or row.get("date")
    return ts if isinstance(ts, (int, float)) and not isinstance(ts, bool) else None


def _day_start(day: str) -> int:
    # The emulated server runs on UTC, so "local time" days are UTC days.
    parsed = dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    return int(parsed.timestamp())


def _day_bounds(after: str | None, before: str | None, on: str | None) -> tuple[int | None, int | None]:
    """``after``/``before``/``start_date`` days as a half-open epoch range [low, high)."""
    low = high = None
    if after:
        low = _day_start(after)
    if before:
        high = _day_start(before) + 86400  # inclusive day
    if on:
        day_low = _day_start(on)
        low = day_low if low is None else max(low, day_low)
        high = day_low + 86400 if high is None else min(high, day_low + 86400)
    return low, high


def _in_range(ts: int | None, low: int | None, high: int | None) -> bool:
    if ts is None:
        return False
    return (low is None or ts >= low) and (high is None or ts < high)


def _ordered(rows: list, indices: list[int], columns: str, directions: str) -> list[int]:
    cols = [c.strip() for c in columns.split(",")]
    dirs = [d.strip().lower() for d in directions.split(",")]
    pairs = [(c, dirs[i] if i < len(dirs) else "desc") for i, c in enumerate(cols) if c in ORDER_COLUMNS]
    out = list(indices)
    for col, direction in reversed(pairs):  # stable sorts, least significant key first
        if col == "date":
            def value(i):  # a completed row's ``date`` falls back to ``started``
                v = rows[i].get("date")
                return v if v is not None else rows[i].get("started")
        elif col == "started":
            def value(i):
                v = rows[i].get("started")
                return v if v is not None else rows[i].get("date")
        else:
            def value(i, col=col):
                return rows[i].get(col)

        def key(i, value=value):
            v = value(i)
            return (v is None, v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else 0)

        try:
            out.sort(key=key, reverse=direction != "asc")
        except TypeError:  # a column mixing numbers and text: sort as text, like SQLite would not fail
            out.sort(key=lambda i: (value(i) is None, str(value(i))), reverse=direction != "asc")
    return out
