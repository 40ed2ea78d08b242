"""results.json and the generated table in docs/performance.md (between markers, so the
hand-written analysis around it survives every ``make bench``)."""
from __future__ import annotations

import json

from benchmarks.harness import REPO_DIR

RESULTS = REPO_DIR / "benchmarks" / "results.json"
DOC = REPO_DIR / "docs" / "performance.md"
START, END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"


def load_results() -> dict:
    if RESULTS.exists():
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    return {"benchmarks": {}}


def save_results(results: dict) -> None:
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _mark(met) -> str:
    return "met" if met else "**missed**"


def rows(b: dict) -> list[tuple[str, str, str, str]]:
    out = [(f"{name}: the benchmark itself failed", "—", f"`{r['error']}`", "**error**")
           for name, r in b.items() if "error" in r]
    b = {name: r for name, r in b.items() if "error" not in r}
    if "warm" in b:
        w = b["warm"]
        out.append(("Warm full run, 4 categories × 20 recs, LLM +1.0 s/call", f"≤ {w['target_s']:g} s",
                    f"{w['wall_s']:.2f} s", _mark(w["met"])))
        if "wall_s_instant_llm" in w:
            out.append(("Same run with an instant LLM (the floor without LLM latency)", "report",
                        f"{w['wall_s_instant_llm']:.2f} s", "—"))
            out.append(("Warm run: wall minus the steps' own time (process start, imports, Dagster run overhead)",
                        "report", f"{w['outside_steps_s']:.2f} s of {w['wall_s']:.2f} s", "—"))
    if "scaling" in b:
        s = b["scaling"]
        walls = ", ".join(f"{k}: {v:.2f} s" for k, v in s["wall_s"].items())
        out.append(("Category scaling wall(16) / wall(4)", f"≤ {s['target_ratio']:g}",
                    f"{s['ratio_16_over_4']:.2f} ({walls})", _mark(s["met"])))
        if "concurrency16" in s:
            w = s["concurrency16"]
            out.append(("Same, 16 categories with `recommender.concurrency: 16` (default 8)", "report",
                        f"{w['ratio_16_over_4']:.2f} (16: {w['wall_s']:.2f} s)", "—"))
    if "cold" in b:
        c = b["cold"]
        out.append(("Cold run wall, TMDb +50 ms/request, 40 req/s", "report", f"{c['wall_s']:.2f} s", "—"))
        out.append(("Cold run TMDb requests (429 answers)", "report",
                    f"{c['tmdb_requests']} ({c['tmdb_429']})", "—"))
        out.append(("Cold run identical TMDb requests made more than once", "0",
                    f"{c['repeated_keys']} ({c['extra_requests']} extra requests)", _mark(c["met"])))
    if "scale" in b:
        s = b["scale"]
        big = s["runs"]["100k"]
        small = s["runs"]["10k"]
        out.append((f"Scale wall, {big['history_rows']:,} history rows, {big['inventory_items']:,} items, "
                    f"{big['categories']} categories", f"≤ {s['target_wall_s']:g} s", f"{big['wall_s']:.2f} s",
                    _mark(big["exit_code"] == 0 and big["wall_s"] <= s["target_wall_s"])))
        out.append(("Scale peak RSS", f"≤ {s['target_rss_mb']:g} MB", f"{big['max_rss_mb']:.0f} MB",
                    _mark(big["max_rss_mb"] <= s["target_rss_mb"])))
        ratios = ", ".join(f"{k} ×{v}" for k, v in s["step_time_ratio"].items())
        out.append((f"History growth {small['history_rows']:,} → {big['history_rows']:,} rows "
                    f"(×{s['history_rows_ratio']})", "linear (step ratio ≤ row ratio)",
                    f"wall {small['wall_s']:.2f} s → {big['wall_s']:.2f} s; {ratios}",
                    _mark(all(v <= s["history_rows_ratio"] * 1.2 for v in s["step_time_ratio"].values()))))
    if "api" in b:
        a = b["api"]
        p, c = a["paced"], a["capacity"]
        out.append((f"API GET p50 / p99, {p['clients']} clients × {p['rate_per_client']:g} req/s each for "
                    f"{p['seconds']:g} s ({p['rps']:g} req/s answered)", f"p99 ≤ {a['target_p99_ms']:g} ms",
                    f"{p['overall']['p50_ms']:.1f} / {p['overall']['p99_ms']:.1f} ms", _mark(a["met"])))
        out.append((f"API capacity: {c['clients']} clients back to back for {c['seconds']:g} s", "report",
                    f"{c['rps']:g} req/s; p50 / p99 {c['overall']['p50_ms']:.1f} / {c['overall']['p99_ms']:.1f} ms",
                    "—"))
    if "week" in b:
        w = b["week"]
        out.append(("Week: 7 daily `--as-of` runs of the demo config, fewest items in a category on a day",
                    f"≥ {w['target_min_items']}", str(w["min_items"]), _mark(w["met"])))
        out.append(("Week: lowest share of published items on topic (checked from TMDb records)", "100%",
                    f"{w['min_on_topic_share']:.0%}", _mark(w["min_on_topic_share"] == 1.0)))
    return out


def week_table(b: dict) -> list[str]:
    """Per category and day: items, on-topic share, kept/added/removed, TMDb requests."""
    days = (b.get("week") or {}).get("days") or []
    if not days:
        return []
    lines = ["| Day | Category | Items | On topic | Kept / added / removed | TMDb requests | Short |",
             "|---|---|---|---|---|---|---|"]
    for r in days:
        lines.append(f"| {r['day']} | {r['category']} | {r['items']} | {r['on_topic_share']:.0%} | "
                     f"{r['kept']} / {r['added']} / {r['removed']} | {r['tmdb_requests']} | {r['short'] or ''} |")
    return lines


def table(results: dict) -> str:
    m = results.get("machine", {})
    lines = [START,
             f"Measured {results.get('generated_at', '?')} on {m.get('cpu_count', '?')} cores "
             f"(`os.cpu_count()`), {m.get('platform', '?')}, Python {m.get('python', '?')}; "
             f"load average before the run {m.get('load_avg_at_start', '?')}. Source: `benchmarks/results.json`."
             + _older(results),
             "", "| Benchmark | Target | Measured | Result |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(results.get("benchmarks", {}))]
    steps = _step_table(results.get("benchmarks", {}))
    if steps:
        lines += ["", *steps]
    week = week_table(results.get("benchmarks", {}))
    if week:
        lines += ["", *week]
    lines.append(END)
    return "\n".join(lines)


def _older(results: dict) -> str:
    """Benchmarks kept from an earlier invocation (``--only``) say when they were measured."""
    stale = {name: r.get("measured_at", "?") for name, r in results.get("benchmarks", {}).items()
             if r.get("measured_at") != results.get("generated_at")}
    if not stale:
        return ""
    return " Kept from earlier runs: " + ", ".join(f"{name} ({when})" for name, when in sorted(stale.items())) + "."


def _step_table(b: dict) -> list[str]:
    b = {name: r for name, r in b.items() if "error" not in r}
    columns = []
    if "warm" in b:
        columns.append(("warm 4 cat.", b["warm"]["steps_s"]))
    if "scaling" in b:
        columns.append(("warm 16 cat.", b["scaling"]["steps_s"].get("16", {})))
    if "cold" in b:
        columns.append(("cold 4 cat.", b["cold"]["steps_s"]))
    if "scale" in b:
        for key, run in b["scale"]["runs"].items():
            columns.append((f"scale {key} rows", run["steps_s"]))
    names = []
    for _, steps in columns:
        names += [n for n in steps if n not in names and n != "error"]
    if not names:
        return []
    out = ["Seconds per Dagster step (STEP_START → STEP_SUCCESS in the run's event log):", "",
           "| Step | " + " | ".join(c for c, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for n in names:
        cells = [f"{steps[n]:.2f}" if isinstance(steps.get(n), (int, float)) else "—" for _, steps in columns]
        out.append(f"| `{n}` | " + " | ".join(cells) + " |")
    return out


def write_doc(results: dict) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(head + table(results) + tail, encoding="utf-8")
