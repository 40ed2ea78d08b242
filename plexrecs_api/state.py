"""Everything a request needs, built once per app: ``request.app.state.api``."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from plexrecs_api.deps import Answer, AnswerCache, ConfigSnapshot, ConfigWatcher, Store, StoreUnavailable
from plexrecs_api.errors import ApiError
from plexrecs_api.runs import DagsterLauncher, RunService
from plexrecs_api.stuck import DagsterRuns


class ApiState:
    def __init__(self, config: ConfigWatcher, token: str | None = None):
        self.config = config
        self.token = token  # API_TOKEN: /v1/health shows paths and error details only to its bearer
        self.runs = RunService()
        self.cache = AnswerCache()
        self._stores: dict[str, Store] = {}
        self._launchers: dict[str, DagsterLauncher] = {}
        self.last_run_memo: tuple | None = None  # (store token, last run) for /v1/health
        self.dagster_runs = DagsterRuns(None)  # create_app points it at DAGSTER_HOME

    def store(self, snapshot: ConfigSnapshot) -> Store:
        path = snapshot.app.paths.db_path
        store = self._stores.get(path)
        if store is None:
            store = self._stores[path] = Store(path)
        return store

    def launcher(self, snapshot: ConfigSnapshot) -> DagsterLauncher:
        url, wait_s = snapshot.app.api.dagster_url, snapshot.app.api.run_wait_timeout_s
        launcher = self._launchers.get(url)
        if launcher is None:
            launcher = self._launchers[url] = DagsterLauncher(url, timeout_s=wait_s)
        launcher.timeout_s = wait_s  # app.yml may have changed it since
        return launcher

    def categories_mtime(self) -> float | None:
        try:
            return (Path(self.config.config_dir) / "categories.yml").stat().st_mtime
        except OSError:
            return None

    async def answer(self, key: tuple, build: Callable[[ConfigSnapshot, Store], Answer]) -> Response:
        """The cached answer for ``key`` while nothing it depends on changed; else ``build`` it
        (in a worker thread: it queries SQLite and reads files)."""
        snapshot = self.config.current()
        store = self.store(snapshot)
        try:
            token = (snapshot.version, store.token())
        except StoreUnavailable as exc:
            raise ApiError(503, "database_unavailable", str(exc)) from None
        answer = self.cache.get(token, key)
        if answer is None:
            try:
                answer = await run_in_threadpool(build, snapshot, store)
            except ApiError as exc:
                if exc.status >= 500:
                    raise
                answer = Answer(exc.status, error_body(exc.code, exc.message))
            self.cache.put(token, key, answer)
        return Response(answer.body, status_code=answer.status, media_type="application/json")


def error_body(code: str, message: str) -> bytes:
    import json

    return json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode("utf-8")


def api_state(request: Request) -> ApiState:
    return request.app.state.api
