"""Pipeline benchmarks: warm run, category scaling, cold run, scale."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from benchmarks.harness import WORK_DIR, Scenario, fresh_dir, step_times
from plexrecs_emulators.suite import EmulatorSuite
from plexrecs_emulators.tautulli import MEASURED_COST
from plexrecs_emulators.world.build_demo import build_world

LLM_LATENCY_S = 1.0
WARM_TARGET_S = 6.0
SCALING_TARGET = 1.5
SCALE_TARGET_S = 60.0
SCALE_RSS_TARGET_MB = 1024.0


def demo_suite() -> EmulatorSuite:
    suite = EmulatorSuite().start()
    suite.llm.set_faults(latency_s=LLM_LATENCY_S)
    return suite


def warm_run(scenario: Scenario) -> dict:
    """One unmeasured run fills the TMDb cache (and the 60-day dedupe), then one measured run."""
    warmup = scenario.run()
    measured = scenario.run()
    return {"categories": scenario.categories, "warmup_wall_s": warmup.wall_s, "wall_s": measured.wall_s,
            "exit_code": measured.exit_code, "max_rss_mb": measured.max_rss_mb,
            "steps_s": step_times(scenario.dagster_home)}


def bench_warm(suite: EmulatorSuite) -> dict:
    scenario = Scenario(WORK_DIR / "warm", suite.env(), categories=4).write()
    result = warm_run(scenario)
    # Where the time goes: the same warm run with an instant LLM shows the floor that is not
    # the LLM's, and wall minus the steps' own time is process start plus Dagster's run overhead.
    suite.llm.set_faults(latency_s=0.0)
    try:
        instant = scenario.run()
    finally:
        suite.llm.set_faults(latency_s=LLM_LATENCY_S)
    step_total = sum(v for v in result["steps_s"].values() if isinstance(v, (int, float)))
    result.update(wall_s_instant_llm=instant.wall_s, steps_total_s=round(step_total, 3),
                  outside_steps_s=round(result["wall_s"] - step_total, 3),
                  target_s=WARM_TARGET_S, met=result["exit_code"] == 0 and result["wall_s"] <= WARM_TARGET_S)
    return result


def bench_scaling(suite: EmulatorSuite, warm4: dict | None = None) -> dict:
    walls = {}
    runs = {}
    for count in (4, 8, 16):
        if count == 4 and warm4 is not None:
            runs[count] = warm4
        else:
            runs[count] = warm_run(Scenario(WORK_DIR / f"scaling-{count}", suite.env(), categories=count).write())
        walls[count] = runs[count]["wall_s"]
    ratio = round(walls[16] / walls[4], 3)
    # Not part of the target: the same 16 categories with every LLM call in one wave.
    wide = warm_run(Scenario(WORK_DIR / "scaling-16-c16", suite.env(), categories=16, concurrency=16).write())
    return {"wall_s": {str(k): v for k, v in walls.items()},
            "concurrency16": {"wall_s": wide["wall_s"], "exit_code": wide["exit_code"],
                              "ratio_16_over_4": round(wide["wall_s"] / walls[4], 3), "steps_s": wide["steps_s"]},
            "steps_s": {str(k): r["steps_s"] for k, r in runs.items()},
            "exit_codes": {str(k): r["exit_code"] for k, r in runs.items()},
            "ratio_16_over_4": ratio, "ratio_8_over_4": round(walls[8] / walls[4], 3),
            "target_ratio": SCALING_TARGET,
            "met": all(r["exit_code"] == 0 for r in runs.values()) and ratio <= SCALING_TARGET}


def request_key(r: dict) -> tuple:
    return r["method"], r["path"], tuple(sorted(r["query"].items()))


def repeated_requests(log: list[dict]) -> dict:
    """Identical requests (method + path + query) seen more than once in one run."""
    every = Counter(request_key(r) for r in log)
    answered = Counter(request_key(r) for r in log if r["status"] != 429)
    repeats = {k: n for k, n in every.items() if n > 1}
    examples = [f"{m} {p}?{'&'.join(f'{a}={b}' for a, b in q)} x{n}"
                for (m, p, q), n in sorted(repeats.items(), key=lambda kv: -kv[1])[:5]]
    return {"repeated_keys": len(repeats), "extra_requests": sum(n - 1 for n in repeats.values()),
            "repeated_keys_answered": sum(1 for n in answered.values() if n > 1),
            "examples": examples}


def bench_cold(suite: EmulatorSuite) -> dict:
    scenario = Scenario(WORK_DIR / "cold", suite.env(), categories=4).write()
    suite.tmdb.set_faults(latency_s=0.05, max_rps=40)
    suite.tmdb.clear_requests()
    try:
        run = scenario.run()
    finally:
        log = suite.tmdb.requests()
        suite.tmdb.set_faults(latency_s=0.0, max_rps=None)
    statuses = Counter(r["status"] for r in log)
    repeats = repeated_requests(log)
    return {"wall_s": run.wall_s, "exit_code": run.exit_code, "tmdb_requests": len(log),
            "tmdb_statuses": {str(k): v for k, v in sorted(statuses.items())},
            "tmdb_429": statuses.get(429, 0), **repeats, "steps_s": step_times(scenario.dagster_home),
            "target_repeated": 0, "met": run.exit_code == 0 and repeats["repeated_keys"] == 0}


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def scale_world(history_rows: int, inventory_items: int) -> Path:
    """A world with exactly ``history_rows`` history rows and ``inventory_items`` items."""
    base = WORK_DIR / "worlds" / "base"
    if not (base / "history.jsonl").exists():
        build_world(fresh_dir(base))
    base_history = _count_lines(base / "history.jsonl")
    base_inventory = _count_lines(base / "inventory.csv") - 1  # header
    out = WORK_DIR / "worlds" / f"h{history_rows}-i{inventory_items}"
    if not (out / "history.jsonl").exists():
        build_world(fresh_dir(out), extra_history_rows=history_rows - base_history,
                    extra_inventory=inventory_items - base_inventory)
    return out


def scale_run(history_rows: int, inventory_items: int, categories: int) -> dict:
    world = scale_world(history_rows, inventory_items)
    with EmulatorSuite(world) as suite:
        suite.llm.set_faults(latency_s=LLM_LATENCY_S)
        # A real Tautulli's get_history cost (it grows with the page offset), not the emulator's own speed.
        suite.tautulli.set_options(**MEASURED_COST)
        scenario = Scenario(WORK_DIR / f"scale-h{history_rows}", suite.env(), categories=categories).write()
        run = scenario.run()
    return {"history_rows": _count_lines(world / "history.jsonl"),
            "inventory_items": _count_lines(world / "inventory.csv") - 1, "categories": categories,
            "wall_s": run.wall_s, "exit_code": run.exit_code, "max_rss_mb": run.max_rss_mb,
            "steps_s": step_times(scenario.dagster_home)}


def bench_scale() -> dict:
    small = scale_run(10_000, 50_000, 20)
    large = scale_run(100_000, 50_000, 20)
    growth = {}
    for step in ("watch_history", "taste_profile"):
        a, b = small["steps_s"].get(step), large["steps_s"].get(step)
        if isinstance(a, float) and isinstance(b, float) and a > 0:
            growth[step] = round(b / a, 2)
    rows_ratio = round(large["history_rows"] / small["history_rows"], 2)
    return {"runs": {"10k": small, "100k": large}, "history_rows_ratio": rows_ratio,
            "step_time_ratio": growth, "wall_ratio": round(large["wall_s"] / small["wall_s"], 2),
            "target_wall_s": SCALE_TARGET_S, "target_rss_mb": SCALE_RSS_TARGET_MB,
            "met": large["exit_code"] == 0 and large["wall_s"] <= SCALE_TARGET_S
            and large["max_rss_mb"] <= SCALE_RSS_TARGET_MB}


if __name__ == "__main__":  # quick manual check of one piece
    print(json.dumps(bench_scale(), indent=2))
