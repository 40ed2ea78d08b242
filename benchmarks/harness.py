"""Shared plumbing: a work dir, emulators, a config per scenario, and a timed ``plexrecs run``.

Every measured run is a separate ``plexrecs run`` process, so the wall time includes
interpreter start, imports and Dagster setup, as a user would see them.
"""
from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from plexrecs_assets.demo import REPO_CONFIG_DIR, secrets_env, write_demo_config

REPO_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = REPO_DIR / "benchmarks" / ".work"
RUN_TIMEOUT_S = 300


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def categories_file(count: int, out: Path) -> Path:
    """The four household demo categories, cloned with new labels ("True Crime 2", …) up to
    ``count`` (the per-person ones would multiply by the number of people)."""
    base = [entry for entry in
            yaml.safe_load((REPO_CONFIG_DIR / "categories.yml").read_text(encoding="utf-8"))["categories"]
            if entry.get("audience", "household") == "household"]
    entries = []
    for i in range(count):
        entry = copy.deepcopy(base[i % len(base)])
        copy_no = i // len(base) + 1
        if copy_no > 1:
            entry["label"] = f"{entry['label']} {copy_no}"
            if "id" in entry:
                entry["id"] = f"{entry['id']}-{copy_no}"
        entries.append(entry)
    out.write_text(yaml.safe_dump({"categories": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


@dataclass
class Scenario:
    """One config + data dir + DAGSTER_HOME under the work dir."""

    root: Path
    emulator_env: dict[str, str]
    categories: int = 4
    recs_per_category: int = 20
    concurrency: int | None = None  # recommender.concurrency; None keeps the product default

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def write(self) -> "Scenario":
        fresh_dir(self.root)
        self.dagster_home.mkdir()
        cats = categories_file(self.categories, self.root / "categories.source.yml")
        write_demo_config(self.config_dir, self.data_dir, self.emulator_env, categories_file=cats,
                          recs_per_category=self.recs_per_category)
        if self.concurrency is not None:
            app_yml = self.config_dir / "app.yml"
            app = yaml.safe_load(app_yml.read_text(encoding="utf-8"))
            app["recommender"]["concurrency"] = self.concurrency
            app_yml.write_text(yaml.safe_dump(app, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return self

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PLEXRECS_CONFIG_DIR", "DAGSTER_HOME")}
        return {**env, **secrets_env(self.emulator_env), "DAGSTER_HOME": str(self.dagster_home),
                "PLEXRECS_CONFIG_DIR": str(self.config_dir)}

    def run(self, args: list[str] | None = None) -> "RunResult":
        return timed_run([sys.executable, "-m", "plexrecs_assets.cli", "run", "--config-dir", str(self.config_dir),
                          *(args or [])], env=self.env(), log=self.root / "run.log")


@dataclass
class RunResult:
    wall_s: float
    exit_code: int
    max_rss_mb: float
    log: Path


def timed_run(cmd: list[str], *, env: dict[str, str], log: Path) -> RunResult:
    """Wall time from spawn to exit, and the child's peak RSS.

    The peak is the kernel's high-water mark (``VmHWM``) of the child's own address space,
    read while it runs. ``ru_maxrss`` from ``wait4``/RUSAGE_CHILDREN cannot be used: the
    child starts as a (v)fork of this process, and the kernel carries this process's peak
    (the emulators hold the whole 100,000-row world) over into the child's ``ru_maxrss``."""
    with log.open("ab") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_DIR)
        deadline = start + RUN_TIMEOUT_S
        peak_kb = 0
        polls = 0
        while True:
            pid, status, _usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if polls % 10 == 0:
                peak_kb = max(peak_kb, _high_water_kb(proc.pid))
            polls += 1
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, _usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return RunResult(wall_s=round(wall, 3), exit_code=proc.returncode, max_rss_mb=round(peak_kb / 1024, 1), log=log)


def _high_water_kb(pid: int) -> int:
    """VmHWM of a running process; 0 once it has exited. (Popen returns only after the exec,
    so this is never the forked image of the benchmark process.)"""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def step_times(dagster_home: Path) -> dict[str, float]:
    """Seconds per asset step of the most recent run in ``dagster_home`` (start→success/failure)."""
    code = (
        "import json, sys\n"
        "from dagster import DagsterInstance, DagsterEventType\n"
        "inst = DagsterInstance.get()\n"
        "run = inst.get_runs(limit=1)[0]\n"
        "start, out = {}, {}\n"
        "for rec in inst.all_logs(run.run_id):\n"
        "    ev = rec.dagster_event\n"
        "    if ev is None or not ev.step_key: continue\n"
        "    if ev.event_type == DagsterEventType.STEP_START: start[ev.step_key] = rec.timestamp\n"
        "    elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and ev.step_key in start:\n"
        "        out[ev.step_key] = round(rec.timestamp - start[ev.step_key], 3)\n"
        "json.dump(out, sys.stdout)\n"
    )
    import json
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "unknown"}
    return json.loads(done.stdout)
