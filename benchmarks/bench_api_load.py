"""Load test of the REST API on loopback: sustained requests/s and p50/p99 latency of
``GET /health`` and ``GET /runs/{id}/summary`` (authenticated, database read).

    .venv/bin/python benchmarks/bench_api_load.py                       # temp SQLite
    .venv/bin/python benchmarks/bench_api_load.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_api_load.py -c 32 -n 5000 --seconds 20

Starts ``alphapulse serve`` (one uvicorn process) on 127.0.0.1, records a tiny backtest
through ``POST /runs`` to have a run to read, then per endpoint sends up to ``-n``
requests (or for at most ``--seconds``) from ``-c`` concurrent async httpx tasks after a
short warm-up. The client runs on the same machine and competes for the same CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

TINY_RUN = {
    "name": "bench",
    "data": {
        "source": "sp500_daily_2013_2018",
        "symbols": ["AAPL", "MSFT"],
        "start": "2015-01-01",
        "end": "2015-12-31",
    },
    "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, db: str, token: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ALPHAPULSE_API_TOKEN": token, "ALPHAPULSE_API_JOB_MODE": "thread"}
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "serve"]
    args = ["--port", str(port), "--db", db, "--log-level", "warning"]
    return subprocess.Popen([*cmd, *args], env=env, cwd=workdir)


def wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def recorded_run(base: str, headers: dict[str, str]) -> str:
    res = httpx.post(f"{base}/runs", json=TINY_RUN, headers=headers, timeout=30)
    res.raise_for_status()
    run_id = str(res.json()["runs"][0]["id"])
    for _ in range(600):
        status = httpx.get(f"{base}/runs/{run_id}", headers=headers).json()["status"]
        if status != "running":
            if status != "finished":
                raise SystemExit(f"backtest {status}")
            return run_id
        time.sleep(0.1)
    raise SystemExit("backtest did not finish")


async def hammer(
    base: str, path: str, headers: dict[str, str], concurrency: int, total: int, seconds: float
) -> dict[str, float]:
    """Send ``total`` GETs (stopping after ``seconds``) with ``concurrency`` workers."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        for _ in range(min(200, total)):  # warm-up: connections, caches
            await client.get(path)
        remaining = total
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                start = time.perf_counter()
                res = await client.get(path)
                latencies.append(time.perf_counter() - start)
                errors += res.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    lat = np.asarray(latencies) * 1000
    return {
        "requests": len(lat),
        "errors": errors,
        "seconds": elapsed,
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temp SQLite file)")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-n", "--requests", type=int, default=3000, help="per endpoint")
    parser.add_argument("--seconds", type=float, default=15.0, help="time cap per endpoint")
    args = parser.parse_args()

    token = secrets.token_urlsafe(24)
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        proc = start_server(port, db, token, Path.cwd())
        try:
            wait_up(base, proc)
            run_id = recorded_run(base, headers)
            print(f"server on {base}; {os.cpu_count()} CPUs shared with the client")
            print(f"concurrency {args.concurrency}, <= {args.requests} requests or "
                  f"{args.seconds:.0f} s per endpoint")  # fmt: skip
            print(f"{'endpoint':<28}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}"
                  f"{'p99 ms':>9}")  # fmt: skip
            for path in ("/health", f"/runs/{run_id}/summary"):
                r = asyncio.run(
                    hammer(base, path, headers, args.concurrency, args.requests, args.seconds)
                )
                label = path if path == "/health" else "/runs/{id}/summary"
                print(f"{label:<28}{r['requests']:>9.0f}{r['errors']:>8.0f}{r['rps']:>9.0f}"
                      f"{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
