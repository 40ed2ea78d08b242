"""Run a few long-lived child processes as one service (used by ``plexrecs loop``).

Each child gets its own process group, so stopping it also stops what it started
(dagster-webserver's code server, for instance). SIGTERM/SIGINT to the supervisor are
forwarded to every child; when any child exits, the others are stopped too, and the
supervisor exits (a container restart policy can then start everything again).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Supervisor:
    def __init__(self, children: list[ChildSpec], *, stop_timeout_s: float = 20.0, log=None):
        self.children = children
        self.stop_timeout_s = stop_timeout_s
        self.procs: dict[str, subprocess.Popen] = {}
        self._stop_signal: int | None = None
        self._log = log or (lambda msg: print(f"[plexrecs loop] {msg}", file=sys.stderr, flush=True))

    def _on_signal(self, signum, _frame) -> None:
        self._stop_signal = signum

    def run(self) -> int:
        """Start every child and wait. Returns 0 after a forwarded SIGTERM/SIGINT, otherwise
        the exit status of the first child that ended (1 if it ended with 0: services should not)."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        first_exit: tuple[str, int] | None = None
        try:
            for spec in self.children:
                if self._stop_signal is not None:
                    break
                self.procs[spec.name] = subprocess.Popen(spec.argv, env={**os.environ, **spec.env}, start_new_session=True)
                self._log(f"started {spec.name} (pid {self.procs[spec.name].pid})")
            while self._stop_signal is None and first_exit is None:
                for name, proc in self.procs.items():
                    code = proc.poll()
                    if code is not None:
                        first_exit = (name, code)
                        break
                else:
                    time.sleep(0.2)
        finally:
            if first_exit:
                self._log(f"{first_exit[0]} exited with status {first_exit[1]}; stopping the others")
            elif self._stop_signal is not None:
                self._log(f"received {signal.Signals(self._stop_signal).name}; stopping")
            self.stop(signal.SIGINT if self._stop_signal == signal.SIGINT else signal.SIGTERM)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if first_exit is None:
            return 0
        return first_exit[1] or 1

    def stop(self, sig: int = signal.SIGTERM) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, sig)
        deadline = time.monotonic() + self.stop_timeout_s
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._log(f"{name} did not stop within {self.stop_timeout_s:.0f}s; killing it")
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            # The leader may be gone while the rest of its group lives on (e.g. a code server).
            _signal_group(proc, signal.SIGKILL)
