"""Shared state of a running API: the configuration (reloaded when its files change) and the
store (a read-only engine plus a cheap change detector), and a response cache on top.

Requests must stay cheap (the API is polled by dashboards), so a request costs a few
``stat`` calls and one ``PRAGMA data_version``; answers are rebuilt only after the store, the
configuration or a file they were read from changed.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from plexrecs_assets.store.db import Engine

from plexrecs_assets.config import AppConfig, Category, ConfigError, category_to_dict, load_app_config, load_categories
from plexrecs_assets.store.db import connect

log = logging.getLogger("plexrecs_api")

StatSig = tuple[int, int, int] | None  # (inode, size, mtime_ns) or None when missing


def stat_sig(path: str | Path) -> StatSig:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ConfigSnapshot:
    app: AppConfig
    categories: list[Category]
    version: int
    categories_json: bytes
    _exact: dict[str, Category] = field(repr=False)
    _folded: dict[str, Category] = field(repr=False)
    _by_id: dict[str, Category] = field(repr=False)

    @classmethod
    def build(cls, app: AppConfig, categories: list[Category], version: int) -> "ConfigSnapshot":
        body = json.dumps({"categories": [category_to_dict(c) for c in categories]}, ensure_ascii=False)
        return cls(
            app=app,
            categories=categories,
            version=version,
            categories_json=body.encode("utf-8"),
            _exact={c.label: c for c in categories},
            _folded={c.label.casefold(): c for c in categories},
            _by_id={c.id: c for c in categories},
        )

    def find(self, label: str) -> Category | None:
        """The configured category for ``label`` (exact, else case-insensitive: labels are unique that way)."""
        return self._exact.get(label) or self._folded.get(label.casefold())

    def find_id(self, category_id: str) -> Category | None:
        """The configured category whose ``id`` is exactly ``category_id``."""
        return self._by_id.get(category_id)

    def yaml_order(self) -> list[str]:
        return [c.label for c in self.categories]

    def id_order(self) -> list[str]:
        return [c.id for c in self.categories]


class ConfigWatcher:
    """Loads ``app.yml``/``categories.yml`` once and again only when one of them changes.

    A broken edit is reported (``error``) while the last valid configuration keeps being
    served: a typo in the YAML must not take the API down.
    """

    def __init__(self, config_dir: str | Path, env: dict[str, str] | None = None):
        self.config_dir = Path(config_dir)
        self._env = dict(os.environ) if env is None else dict(env)
        self._files = (self.config_dir / "app.yml", self.config_dir / "categories.yml")
        self._lock = threading.Lock()
        self.error: str | None = None
        self.error_file: str | None = None  # app.yml or categories.yml (a name, not a path)
        self._sigs = self._signatures()
        self._snapshot = self._load(version=1)  # ConfigError propagates: startup must fail loudly

    def _signatures(self) -> tuple[StatSig, ...]:
        return tuple(stat_sig(p) for p in self._files)

    def _load(self, version: int) -> ConfigSnapshot:
        app = load_app_config(self.config_dir, env=self._env)
        return ConfigSnapshot.build(app, load_categories(self.config_dir), version)

    def current(self) -> ConfigSnapshot:
        sigs = self._signatures()
        if sigs == self._sigs:
            return self._snapshot
        with self._lock:
            if sigs != self._sigs:
                try:
                    self._snapshot = self._load(self._snapshot.version + 1)
                    self.error = self.error_file = None
                except ConfigError as exc:
                    self.error, self.error_file = str(exc), Path(exc.file).name
                    log.warning("configuration change rejected, still serving the previous one: %s", exc)
                self._sigs = sigs
        return self._snapshot


# ---------------------------------------------------------------- store


class StoreUnavailable(Exception):
    pass


class Store:
    """The SQLite store, read-only. ``token()`` changes whenever anything was committed."""

    def __init__(self, db_path: str | Path):
        self.path = Path(db_path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn_ino: int | None = None
        self.last_error: str | None = None

    @property
    def engine(self) -> Engine:
        return connect(self.path, readonly=True)

    def exists(self) -> bool:
        return self.path.is_file()

    def token(self) -> tuple:
        """``("missing",)`` when there is no database file yet; raises ``StoreUnavailable``
        when it exists but cannot be read."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._close()
            self.last_error = None
            return ("missing",)
        except OSError as exc:
            raise self._unavailable(exc.strerror or str(exc)) from None
        with self._lock:
            try:
                if self._conn is None or self._conn_ino != st.st_ino:
                    self._close_locked()
                    self._conn = sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False)
                    self._conn_ino = st.st_ino
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
                # data_version is only meaningful per connection; the schema cookie guards a
                # database that was replaced by another file with the same inode.
                cookie = self._conn.execute("PRAGMA schema_version").fetchone()[0]
            except sqlite3.Error as exc:
                self._close_locked()
                raise self._unavailable(str(exc)) from None
        self.last_error = None
        return ("db", st.st_dev, st.st_ino, version, cookie)

    def _unavailable(self, reason: str) -> StoreUnavailable:
        self.last_error = f"cannot read the database {self.path}: {reason}"
        return StoreUnavailable(self.last_error)

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None
        self._conn_ino = None

    def _close(self) -> None:
        with self._lock:
            self._close_locked()


# ---------------------------------------------------------------- response cache


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    # Files the body was read from: the answer is stale once any of them changes.
    deps: tuple[tuple[str, StatSig], ...] = ()

    def fresh(self) -> bool:
        return all(stat_sig(path) == sig for path, sig in self.deps)


class AnswerCache:
    """Answers keyed by request, dropped as a whole when the store or the config changes."""

    def __init__(self, max_entries: int = 1024):
        self._token: tuple | None = None
        self._entries: dict[tuple, Answer] = {}
        self._max = max_entries

    def get(self, token: tuple, key: tuple) -> Answer | None:
        if token != self._token:
            self._entries = {}
            self._token = token
            return None
        answer = self._entries.get(key)
        if answer is not None and answer.deps and not answer.fresh():
            return None
        return answer

    def put(self, token: tuple, key: tuple, answer: Answer) -> None:
        if token != self._token:
            return
        if len(self._entries) >= self._max:
            self._entries = {}
        self._entries[key] = answer


BuildFn = Callable[..., Answer]
