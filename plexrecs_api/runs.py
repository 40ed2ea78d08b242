"""``POST /v1/run``: submit ``plexrecs_job`` to dagster-webserver over GraphQL and wait for it.

The run goes through Dagster's run queue (so it shows in the UI and respects
``max_concurrent_runs``); the API only allows one such call at a time. Categories are the
job's partitions: a contiguous block of them (in ``categories.yml`` order) is one run with
partition-range tags, so a non-contiguous subset becomes one run per block.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from plexrecs_assets.store import read_model as queries
from plexrecs_api.deps import Store
from plexrecs_api.errors import ApiError
from plexrecs_assets.run_blocks import HOUSEHOLD, PairBlock, contiguous_blocks

log = logging.getLogger("plexrecs_api")

JOB_NAME = "plexrecs_job"
LOCATION_NAME = "plexrecs"
REPOSITORY_NAME = "__repository__"
TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")

_PREFLIGHT_QUERY = """
query PlexrecsPreflight {
  instance { daemonHealth { daemonStatus(daemonType: "QUEUED_RUN_COORDINATOR") { healthy required } } }
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name loadStatus updatedTimestamp
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


def unavailable(url: str, reason: str) -> ApiError:
    return ApiError(
        503,
        "dagster_unavailable",
        f"cannot reach dagster-webserver at {url} ({reason}); start it (plexrecs loop starts the webserver, "
        "the daemon and this API together) or set api.dagster_url / DAGSTER_WEBSERVER_URL",
    )


@dataclass
class SubmittedRun:
    run_id: str
    partition_keys: list[str]
    status: str = "QUEUED"


class DagsterLauncher:
    """Talks to one dagster-webserver. Blocking: call it from a worker thread."""

    def __init__(self, dagster_url: str, *, poll_interval_s: float = 0.5, timeout_s: float = 3600,
                 load_timeout_s: float = 180):
        self.url = dagster_url.rstrip("/")
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.load_timeout_s = load_timeout_s
        self._client = None

    def _graphql_client(self):
        if self._client is None:
            from dagster_graphql import DagsterGraphQLClient  # heavy import, only needed for runs

            parts = urlsplit(self.url)
            self._client = DagsterGraphQLClient(
                parts.hostname or "127.0.0.1",
                port_number=parts.port,
                use_https=parts.scheme == "https",
                path_prefix=parts.path.rstrip("/"),
                timeout=60,
            )
        return self._client

    def preflight(self, categories_mtime: float | None) -> None:
        """Fail fast (503) when the webserver or the daemon that dequeues runs is down; wait
        for the code location to finish loading; reload it when ``categories.yml`` changed
        after Dagster loaded it (its partitions are read at load time)."""
        deadline = time.monotonic() + self.load_timeout_s
        while True:
            daemon, entry = self._status()
            if daemon.get("required") and not daemon.get("healthy"):
                raise ApiError(
                    503,
                    "dagster_daemon_unavailable",
                    "dagster-daemon is not running (its run queue has no recent heartbeat), so a queued run would never "
                    "start; start it with `dagster-daemon run` or use `plexrecs loop`",
                )
            if entry is None:
                raise ApiError(502, "dagster_error", f"dagster-webserver at {self.url} has no code location named {LOCATION_NAME!r}")
            if entry.get("loadStatus") == "LOADED":
                break
            if time.monotonic() > deadline:
                raise unavailable(self.url, f"code location {LOCATION_NAME!r} is still loading")
            time.sleep(self.poll_interval_s)
        error = entry.get("locationOrLoadError") or {}
        if error.get("__typename") == "PythonError":
            first_line = (error.get("message") or "").strip().splitlines()[:1]
            raise ApiError(502, "dagster_error",
                           f"Dagster could not load code location {LOCATION_NAME!r}: {first_line[0] if first_line else 'unknown error'}")
        if categories_mtime is not None and categories_mtime > float(entry.get("updatedTimestamp") or 0):
            self._reload()

    def _status(self) -> tuple[dict, dict | None]:
        try:
            response = httpx.post(f"{self.url}/graphql", json={"query": _PREFLIGHT_QUERY}, timeout=10)
        except httpx.HTTPError as exc:
            raise unavailable(self.url, type(exc).__name__) from None
        if response.status_code != 200:
            raise unavailable(self.url, f"HTTP {response.status_code} from /graphql")
        try:
            data = response.json()["data"]
            daemon = data["instance"]["daemonHealth"]["daemonStatus"]
            entries = data["workspaceOrError"].get("locationEntries") or []
        except (ValueError, KeyError, TypeError, AttributeError):
            raise unavailable(self.url, "unexpected answer from /graphql; is this a dagster-webserver?") from None
        return daemon, next((e for e in entries if e.get("name") == LOCATION_NAME), None)

    def _reload(self) -> None:
        from dagster_graphql import DagsterGraphQLClientError, ReloadRepositoryLocationStatus

        try:
            info = self._graphql_client().reload_repository_location(LOCATION_NAME)
        except DagsterGraphQLClientError as exc:
            raise self._translate(exc) from None
        if info.status != ReloadRepositoryLocationStatus.SUCCESS:
            raise ApiError(502, "dagster_error", f"Dagster could not reload code location {LOCATION_NAME!r}: {info.message}")

    def _translate(self, exc: Exception) -> ApiError:
        import requests

        cause = exc.__cause__
        if isinstance(cause, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return unavailable(self.url, type(cause).__name__)
        detail = " ".join(str(a) for a in getattr(exc, "args", ())[:2])[:300]
        return ApiError(502, "dagster_error", f"Dagster refused the request: {detail}")

    def submit(self, block: list[str]) -> SubmittedRun:
        from dagster_graphql import DagsterGraphQLClientError

        try:
            run_id = self._graphql_client().submit_job_execution(
                JOB_NAME,
                repository_location_name=LOCATION_NAME,
                repository_name=REPOSITORY_NAME,
                tags=PairBlock(tuple(block), (HOUSEHOLD,)).tags(),
            )
        except DagsterGraphQLClientError as exc:
            raise self._translate(exc) from None
        log.info("submitted Dagster run %s for %s", run_id, block)
        return SubmittedRun(run_id=run_id, partition_keys=[f"{c}|{HOUSEHOLD}" for c in block])

    def wait(self, runs: list[SubmittedRun]) -> None:
        from dagster_graphql import DagsterGraphQLClientError

        deadline = time.monotonic() + self.timeout_s
        pending = list(runs)
        while pending:
            for run in list(pending):
                try:
                    run.status = self._graphql_client().get_run_status(run.run_id).value
                except DagsterGraphQLClientError as exc:
                    raise self._translate(exc) from None
                if run.status in TERMINAL:
                    pending.remove(run)
            if pending:
                if time.monotonic() > deadline:
                    states = ", ".join(f"{r.run_id} ({r.status})" for r in pending)
                    raise ApiError(504, "run_timeout",
                                   f"Dagster run(s) {states} not finished after api.run_wait_timeout_s="
                                   f"{self.timeout_s:g} s; they go on in Dagster: follow them in the Dagster UI "
                                   "or GET /v1/runs/latest (a run still QUEUED waits for a free slot: see /v1/health)")
                time.sleep(self.poll_interval_s)


class RunService:
    """One ``POST /v1/run`` at a time (a second one gets 409 while the first is waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def try_begin(self) -> bool:
        return self._lock.acquire(blocking=False)

    def end(self) -> None:
        self._lock.release()

    def execute(self, launcher: DagsterLauncher, labels: list[str], ids: list[str], id_order: list[str], store: Store,
                categories_mtime: float | None) -> dict:
        """Submit (one run per block of neighbouring category ids), wait and summarise.
        Releases the lock taken by ``try_begin`` in every case."""
        try:
            launcher.preflight(categories_mtime)
            runs = [launcher.submit(block) for block in contiguous_blocks(ids, id_order)]
            launcher.wait(runs)
            return summarise(runs, labels, store)
        finally:
            self.end()


def summarise(runs: list[SubmittedRun], labels: list[str], store: Store) -> dict:
    out = [{"run_id": r.run_id, "status": r.status, "partition_keys": r.partition_keys, "job": None} for r in runs]
    if store.exists():
        with store.engine.connect() as conn:
            for item in out:
                job_id = queries.job_for_dagster_run(conn, item["run_id"])
                item["job"] = queries.job_summary(conn, job_id) if job_id is not None else None
    return {"status": overall_status(out), "categories": labels, "dagster_runs": out}


def overall_status(runs: list[dict]) -> str:
    category_states = [c["status"] for r in runs if r["job"] for c in r["job"]["categories"]]
    if runs and all(r["status"] == "SUCCESS" and r["job"] and r["job"]["status"] == "success" for r in runs):
        return "success"
    if "success" in category_states:
        return "partial"
    return "failed"
