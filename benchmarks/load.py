"""A bounded HTTP load: N concurrent keep-alive clients cycling through GET paths for D seconds,
each at a fixed request rate (``--rate``) or back to back (``--rate 0``, which measures capacity).

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
from urllib.parse import urlsplit

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


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: GET only, Content-Length bodies.

    About a tenth of httpx's CPU per request, so on a 2-core machine the load generator
    steals less time from the server it measures."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("ascii"))
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")),
                      None)
        if length is None:
            raise httpx.HTTPError(f"GET {path}: no Content-Length in the answer")
        await self.reader.readexactly(length)
        return status

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def client(http, paths: list[str], offset: int, stop_at: float, interval: float,
                 latencies: dict[str, list[float]], statuses: dict[int, int]) -> None:
    i = offset
    # Spread the clients' first requests over one interval instead of firing all 50 at once.
    next_at = time.perf_counter() + (interval * offset / 50 if interval else 0.0)
    while True:
        if interval:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
        if time.perf_counter() >= stop_at:
            return
        path = paths[i % len(paths)]
        i += 1
        start = time.perf_counter()
        try:
            if isinstance(http, RawConnection):
                statuses[await http.get(path)] += 1
            else:
                response = await http.get(path)
                await response.aread()
                statuses[response.status_code] += 1
        except (httpx.HTTPError, OSError, asyncio.IncompleteReadError, ValueError):
            statuses[-1] += 1
            if isinstance(http, RawConnection):
                await http.aclose()
                http.writer = None
            continue
        latencies[path].append(time.perf_counter() - start)


async def main_async(base_url: str, paths: list[str], clients: int, seconds: float, rate: float,
                     kind: str = "raw") -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    # One connection per client, like 50 separate dashboards; a shared pool would measure
    # httpx's pool bookkeeping instead of the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    https = [RawConnection(base_url) if kind == "raw" else httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10.0)
             for _ in range(clients)]
    try:
        stop_at = time.perf_counter() + seconds
        interval = 1.0 / rate if rate > 0 else 0.0
        await asyncio.gather(*(client(http, paths, n, stop_at, interval, latencies, statuses)
                               for n, http in enumerate(https)))
    finally:
        for http in https:
            await http.aclose()
    everything = [v for values in latencies.values() for v in values]
    return {"clients": clients, "seconds": seconds, "rate_per_client": rate or None, "client": kind,
            "requests": len(everything),
            "rps": round(len(everything) / seconds, 1), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "overall": summarize(everything), "by_path": {p: summarize(latencies[p]) for p in paths}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("--path", action="append", required=True, dest="paths")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests per second per client (0: send the next request as soon as the last answers)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="raw: minimal HTTP/1.1 on asyncio streams (default); httpx: one httpx.AsyncClient each")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args.base_url, args.paths, args.clients, args.seconds, args.rate, args.client))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
