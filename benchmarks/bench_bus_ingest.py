"""Bar ingestion latency: a bar's arrival from the feed -> stored and published.

For each store (SQLite temp file, PostgreSQL scratch schema) x bus (in-process, Redis)
x mode (``bar``: every bar stored and published on its own; ``cross``: a cross-section
stored in one transaction and published as one message), the feed hands over bars back
to back while a consumer thread polls and acks. Latencies are per bar arrival (in
``cross`` mode every bar of a cross-section shares its latency); ``delivered`` is
arrival -> the consumer holding the message.

.venv/bin/python benchmarks/bench_bus_ingest.py [--symbols 20] [--steps 100]
    [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections.abc import Callable

import numpy as np
from bench_store_common import scratch_database

from alphapulse.bus import (
    BarIngestor,
    BarMsg,
    Bus,
    CrossSectionMsg,
    InProcessBus,
    RedisStreamsBus,
    Topic,
)
from alphapulse.store import open_store

T0 = 1_704_205_800_000_000_000
MINUTE = 60_000_000_000
TARGET_P99_MS = 50.0


def feed(symbols: list[str], steps: int, seed: int = 0) -> list[CrossSectionMsg]:
    """Random-walk 1-minute cross-sections."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 5e-4, (steps, len(symbols))), axis=0))
    out = []
    for t in range(steps):
        c = close[t]
        o = close[t - 1] if t else c
        spread = np.abs(rng.normal(0, 2e-4, len(symbols))) * c
        vol = rng.integers(100, 10_000, len(symbols)).astype(np.float64)
        hi, lo = np.maximum(o, c) + spread, np.minimum(o, c) - spread
        out.append(CrossSectionMsg(T0 + t * MINUTE, "1m", tuple(symbols), o, hi, lo, c, vol))
    return out


class Consumer:
    """Polls and acks on a thread; records arrival -> delivery times."""

    def __init__(self, bus: Bus, topic: str, arrivals: dict[object, float]) -> None:
        self.sub = bus.subscribe(topic, "bench", "c1")
        self.arrivals = arrivals
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            for d in self.sub.poll(timeout=0.05):
                now = time.perf_counter()
                m = d.message
                if isinstance(m, BarMsg):
                    self.latencies.append(now - self.arrivals[(m.symbol, m.ts_ns)])
                elif isinstance(m, CrossSectionMsg):
                    self.latencies += [now - self.arrivals[m.ts_ns]] * len(m.symbols)
                self.sub.ack(d)

    def finish(self, expected: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.latencies) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        self.stop.set()
        self.thread.join()


def run_case(bus: Bus, store_url: str, mode: str, sections: list[CrossSectionMsg]) -> str:
    arrivals: dict[object, float] = {}
    samples: list[float] = []
    with open_store(store_url) as store:
        ingest = BarIngestor(store, bus, "1m")
        warm, timed = sections[:5], sections[5:]
        for cs in warm:  # connections, statement caches, series rows
            for bar in cs.bars():
                ingest.on_bar(bar)
        consumer = Consumer(bus, Topic.BARS if mode == "bar" else Topic.CROSS_SECTIONS, arrivals)
        for cs in timed:
            if mode == "bar":
                for bar in cs.bars():
                    arrivals[(bar.symbol, bar.ts_ns)] = t = time.perf_counter()
                    ingest.on_bar(bar)
                    samples.append(time.perf_counter() - t)
            else:
                arrivals[cs.ts_ns] = t = time.perf_counter()
                ingest.on_cross_section(cs)
                samples += [time.perf_counter() - t] * len(cs.symbols)
        consumer.finish(len(samples))
    ms = np.array(samples) * 1e3
    dl = np.array(consumer.latencies) * 1e3
    p99 = np.percentile(ms, 99)
    return (
        f"p50 {np.percentile(ms, 50):6.2f}  p99 {p99:6.2f}  max {ms.max():6.2f} ms"
        f" | delivered p50 {np.percentile(dl, 50):6.2f}  p99 {np.percentile(dl, 99):6.2f} ms"
        f"  n={len(ms)} {'ok' if p99 < TARGET_P99_MS else 'OVER TARGET'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=20)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    symbols = [f"SYM{i:03d}" for i in range(args.symbols)]
    sections = feed(symbols, args.steps + 5)
    prefix = f"apbench:{uuid.uuid4().hex[:8]}:"
    buses: dict[str, Callable[[], Bus]] = {
        "memory": InProcessBus,
        "redis": lambda: RedisStreamsBus(args.redis_url, prefix=prefix, maxlen=10_000),
    }
    print(
        f"{args.symbols} symbols x {args.steps} steps; latency per bar arrival "
        f"(target p99 < {TARGET_P99_MS:.0f} ms)"
    )
    for store_name, url in (("sqlite", None), ("postgresql", args.pg_url)):
        for bus_name, make in buses.items():
            for mode in ("bar", "cross"):
                label = f"{store_name:10s} {bus_name:6s} {mode:5s}"
                try:
                    with scratch_database(url) as db_url:
                        bus = make()
                        try:
                            print(f"{label} {run_case(bus, db_url, mode, sections)}", flush=True)
                        finally:
                            if isinstance(bus, RedisStreamsBus):
                                keys = list(bus.client.scan_iter(match=f"{prefix}*"))
                                if keys:
                                    bus.client.delete(*keys)
                            bus.close()
                except Exception as exc:  # an absent server: report and go on
                    print(f"{label} skipped: {type(exc).__name__}: {exc}", flush=True)


if __name__ == "__main__":
    main()
