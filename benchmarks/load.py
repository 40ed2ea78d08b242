"""A bounded HTTP load: N concurrent keep-alive clients cycling through GET paths for D seconds.

Run as its own process (``python -m benchmarks.load URL --path ... --clients 50 --seconds 10``)
so the client's CPU is not the server's; prints one JSON object with latency percentiles.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict

import httpx


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"count": len(ordered), "p50_ms": round(percentile(ordered, 50) * 1000, 2),
            "p99_ms": round(percentile(ordered, 99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None}


async def client(http: httpx.AsyncClient, paths: list[str], offset: int, stop_at: float,
                 latencies: dict[str, list[float]], statuses: dict[int, int]) -> None:
    i = offset
    while time.perf_counter() < stop_at:
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        try:
            response = await http.get(path)
            await response.aread()
            statuses[response.status_code] += 1
        except httpx.HTTPError:
            statuses[-1] += 1
            continue
        latencies[path].append(time.perf_counter() - start)


async def main_async(base_url: str, paths: list[str], clients: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0) as http:
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(client(http, paths, n, stop_at, latencies, statuses) for n in range(clients)))
    everything = [v for values in latencies.values() for v in values]
    return {"clients": clients, "seconds": seconds, "requests": len(everything),
            "rps": round(len(everything) / seconds, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "overall": summarize(everything), "by_path": {p: summarize(latencies[p]) for p in paths}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("--path", action="append", required=True, dest="paths")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args.base_url, args.paths, args.clients, args.seconds))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
