"""Step progress of an in-process run, read from the Dagster event log while it runs.

``execute_in_process`` blocks; a watcher thread polls the instance for the run's step events
and reports each start and finish to a callback (the CLI draws a rich progress bar with it).
"""
from __future__ import annotations

import threading
import uuid
from typing import Callable

PROGRESS_TAG = "plexrecs/progress"
StepCallback = Callable[[str, str, float], None]  # (event: "start"|"success"|"failure", step_key, elapsed_s)


class StepWatcher:
    def __init__(self, instance, callback: StepCallback, interval_s: float = 0.3):
        self.instance = instance
        self.callback = callback
        self.interval_s = interval_s
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="plexrecs-progress", daemon=True)
        self._seen: set[int] = set()
        self._started: dict[str, float] = {}

    @property
    def tags(self) -> dict[str, str]:
        return {PROGRESS_TAG: self.token}

    def __enter__(self) -> "StepWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._poll()  # report the last steps too

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._poll()
            except Exception:  # progress is cosmetic; never break a run over it
                pass

    def _poll(self) -> None:
        from dagster import DagsterEventType, RunsFilter

        runs = self.instance.get_runs(filters=RunsFilter(tags={PROGRESS_TAG: self.token}), limit=1)
        if not runs:
            return
        kinds = {DagsterEventType.STEP_START: "start", DagsterEventType.STEP_SUCCESS: "success",
                 DagsterEventType.STEP_FAILURE: "failure"}
        for record in self.instance.all_logs(runs[0].run_id, of_type=set(kinds)):
            key = (record.step_key, record.dagster_event.event_type)
            ident = hash(key)
            if ident in self._seen:
                continue
            self._seen.add(ident)
            kind = kinds[record.dagster_event.event_type]
            if kind == "start":
                self._started[record.step_key] = record.timestamp
            elapsed = record.timestamp - self._started.get(record.step_key, record.timestamp)
            self.callback(kind, record.step_key, elapsed)


def noop(*_args) -> None:
    return None


__all__ = ["StepWatcher", "StepCallback", "noop"]
