"""``make bench``: run the benchmarks, write benchmarks/results.json and the table in
docs/performance.md. ``--only NAME`` runs one benchmark and keeps the others' last results."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import traceback

from benchmarks import api, pipeline, report, week
from benchmarks.harness import WORK_DIR, Scenario

NAMES = ("warm", "scaling", "cold", "scale", "api", "week")


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(terse=True),
            "python": platform.python_version(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


def run(selected: list[str]) -> dict:
    results: dict = {}
    needs_demo = {"warm", "scaling", "cold", "api"} & set(selected)
    suite = pipeline.demo_suite() if needs_demo else None
    try:
        warm = None
        if {"warm", "scaling", "api"} & set(selected):
            warm = _attempt(results, "warm", lambda: pipeline.bench_warm(suite))
            if "warm" not in selected:
                results.pop("warm", None)
        if "scaling" in selected:
            _attempt(results, "scaling", lambda: pipeline.bench_scaling(suite, warm4=warm))
        if "api" in selected:
            labels = [c["label"] for c in pipeline_categories()]
            _attempt(results, "api", lambda: api.bench_api(Scenario(WORK_DIR / "warm", suite.env()), labels))
        if "cold" in selected:
            _attempt(results, "cold", lambda: pipeline.bench_cold(suite))
    finally:
        if suite is not None:
            suite.stop()
    if "scale" in selected:
        _attempt(results, "scale", pipeline.bench_scale)
    if "week" in selected:
        _attempt(results, "week", week.bench_week)
    return results


def _attempt(results: dict, name: str, bench) -> dict | None:
    """One benchmark; a crash is recorded as its result so the others still report."""
    _say(name)
    try:
        results[name] = bench()
        return results[name]
    except Exception as exc:
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:500], "met": False}
        return None


def pipeline_categories() -> list[dict]:
    import yaml
    return yaml.safe_load((WORK_DIR / "warm" / "config" / "categories.yml").read_text(encoding="utf-8"))["categories"]


def _say(name: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {name} …", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--only", choices=NAMES, action="append",
                        help="run only this benchmark (repeatable); other results stay as last recorded")
    args = parser.parse_args(argv)
    selected = args.only or list(NAMES)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    info = machine()
    fresh = run(selected)
    results = report.load_results()
    results["machine"] = info
    results["generated_at"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    results["last_invocation"] = {"only": selected, "duration_s": round(time.perf_counter() - started, 1)}
    for outcome in fresh.values():
        outcome["measured_at"] = results["generated_at"]
    results.setdefault("benchmarks", {}).update(fresh)
    report.save_results(results)
    report.write_doc(results)
    for name in selected:
        outcome = fresh[name]
        print(f"{name}: {'ERROR ' + outcome['error'] if 'error' in outcome else 'met' if outcome.get('met') else 'MISSED'}",
              file=sys.stderr)
    print(f"wrote {report.RESULTS} and {report.DOC} in {results['last_invocation']['duration_s']} s", file=sys.stderr)
    return 1 if any("error" in fresh[name] for name in selected) else 0


if __name__ == "__main__":
    sys.exit(main())
