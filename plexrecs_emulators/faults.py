"""Fault knobs shared by every emulator: latency, rate limits, server errors, broken bodies,
rejected credentials. One ``Faults`` per server; tests flip them at run time."""
from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, fields


class FaultsError(ValueError):
    """A fault update named an unknown knob or gave it a value of the wrong type."""


@dataclass
class Faults:
    latency_s: float = 0.0
    rate_429: float = 0.0
    retry_after_s: float = 1.0
    rate_500: float = 0.0
    malformed_rate: float = 0.0
    bad_credentials: bool = False
    max_rps: float | None = None
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def updated(self, changes: dict) -> "Faults":
        """A copy with ``changes`` applied; rejects unknown names and wrong types by name."""
        if not isinstance(changes, dict):
            raise FaultsError(f"faults: expected a JSON object, got {type(changes).__name__}")
        known = {f.name for f in fields(self)}
        values = self.to_dict()
        for name, value in changes.items():
            if name not in known:
                raise FaultsError(f"faults.{name}: unknown knob (known: {', '.join(sorted(known))})")
            values[name] = _coerce(name, value)
        return Faults(**values)


def _coerce(name: str, value):
    if name == "bad_credentials":
        if not isinstance(value, bool):
            raise FaultsError(f"faults.{name}: expected true/false, got {value!r}")
        return value
    if name == "seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise FaultsError(f"faults.{name}: expected an integer, got {value!r}")
        return value
    if name == "max_rps" and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultsError(f"faults.{name}: expected a number, got {value!r}")
    if value < 0:
        raise FaultsError(f"faults.{name}: must be >= 0, got {value!r}")
    if name.startswith("rate_") or name == "malformed_rate":
        if value > 1:
            raise FaultsError(f"faults.{name}: a rate is between 0 and 1, got {value!r}")
    return float(value)


class FaultState:
    """The live faults of one server plus the random stream and request clock they need."""

    def __init__(self, faults: Faults | None = None):
        self._lock = threading.Lock()
        self._faults = faults or Faults()
        self._rng = random.Random(self._faults.seed)
        self._recent: deque[float] = deque()

    @property
    def current(self) -> Faults:
        with self._lock:
            return self._faults

    def update(self, changes: dict) -> Faults:
        with self._lock:
            new = self._faults.updated(changes)
            if new.seed != self._faults.seed:
                self._rng = random.Random(new.seed)
            self._faults = new
            return new

    def draw(self) -> tuple[float, float, float]:
        """Three draws per request (429, 500, malformed) so one knob never shifts another's stream."""
        with self._lock:
            return self._rng.random(), self._rng.random(), self._rng.random()

    def over_rps(self) -> bool:
        with self._lock:
            limit = self._faults.max_rps
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if limit is None:
                return False
            if len(self._recent) >= limit:
                return True
            self._recent.append(now)
            return False
