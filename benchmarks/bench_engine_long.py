"""Event-engine per-step cost on one long single-symbol series: SPY 1-minute bars
(``spy_1min_2011_ninjatrader``, 31,757 real bars) stitched end to end with return
chaining (each copy is scaled so its first open continues from the last close) up to
``--bars`` bars, SMA crossover 10/30, pass-through risk stage and the default risk
stage (``risk: {}``). Reports CPU time (``time.process_time``, best of ``--repeat``),
µs per step and bars/s; ``--rss`` also runs each size in a fresh subprocess and reports
its peak RSS (``resource.getrusage``), e.g. for 1e6 vs 1e7 bars.

.venv/bin/python benchmarks/bench_engine_long.py [--bars 1000000] [--repeat 3]
    [--risk both|none|default] [--rss 1000000,10000000] [--json out.json]
    [--compare benchmarks/results/engine.json]

``--compare`` prints each case's CPU time against a saved result file and flags a
slow-down of more than 20% (``REGRESSION``, exit code 1); compare runs with the same
``--bars``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import FIELDS, Panel
from alphapulse.engine.runner import run_strategy

DATASET = "spy_1min_2011_ninjatrader"
MINUTE_NS = 60_000_000_000
WARMUP_BARS = 5_000


def stitched_panel(n_bars: int) -> Panel:
    """``n_bars`` one-minute bars of SPY: the real series repeated, each copy's prices
    scaled so that it opens where the previous copy closed."""
    base = load_panel(DATASET, ["SPY"])
    px = {k: base.fields[k][:, 0] for k in FIELDS}
    copies = -(-n_bars // base.n_bars)
    ratio = float(px["close"][-1] / px["open"][0])
    scale = np.repeat(ratio ** np.arange(copies), base.n_bars)[:n_bars]
    fields = {}
    for k in FIELDS:
        col = np.tile(px[k], copies)[:n_bars]
        fields[k] = (col if k == "volume" else col * scale).reshape(-1, 1).copy()
    ts = int(base.timestamps[0]) + MINUTE_NS * np.arange(n_bars, dtype=np.int64)
    return Panel(ts, ("SPY",), fields)


def config(risk: bool) -> Any:
    raw: dict[str, Any] = {
        "data": {"source": DATASET},
        "initial_cash": 1_000_000,
        "strategies": [{"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}}],
    }
    if risk:
        raw["risk"] = {}
    return parse_config(raw)


def time_run(panel: Panel, risk: bool, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` CPU time of one engine run over ``panel``."""
    cfg = config(risk)
    best = float("inf")
    fills = 0
    for _ in range(repeat):
        t = time.process_time()
        r = run_strategy(cfg, cfg.strategies[0], panel)
        best = min(best, time.process_time() - t)
        fills = len(r.fills)
    return {
        "cpu_s": best,
        "us_per_step": best / panel.n_bars * 1e6,
        "bars_per_s": panel.n_bars / best,
        "fills": fills,
    }


def peak_rss_mb(n_bars: int, risk: bool) -> float:
    """Peak RSS (MiB) of a fresh process that builds the panel and runs it once."""
    code = (
        "import resource, sys; sys.path.insert(0, 'benchmarks');"
        "import bench_engine_long as b;"
        f"b.time_run(b.stitched_panel({n_bars}), {risk}, 1);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024.0


def compare(now: dict[str, Any], path: str, saved: dict[str, Any], tolerance: float = 0.20) -> bool:
    """Print each case's CPU time against the figures saved in ``path``; flag >
    ``tolerance`` slower (returns False when any case is)."""
    if saved.get("bars") != now["bars"]:
        print(f"note: {path} was measured on {saved.get('bars')} bars, this run {now['bars']}")
    ok = True
    for name in ("pass_through", "default_risk"):
        if name in now and name in saved:
            old, new = saved[name]["us_per_step"], now[name]["us_per_step"]
            flag = "REGRESSION" if new > old * (1 + tolerance) else "ok"
            print(f"{name}: {old:.2f} -> {new:.2f} µs/step ({new / old - 1:+.0%}) {flag}")
            ok = ok and flag == "ok"
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--risk", choices=("both", "none", "default"), default="both")
    ap.add_argument("--rss", default="", help="comma-separated bar counts, e.g. 1000000,10000000")
    ap.add_argument("--json", default="", help="write the figures to this file")
    ap.add_argument("--compare", default="", help="a saved --json file to compare with")
    args = ap.parse_args()
    saved = None
    if args.compare:  # read before --json may overwrite the same file
        with open(args.compare) as f:
            saved = json.load(f)
    out: dict[str, Any] = {"bars": args.bars}
    # RSS first: Linux carries a process's peak RSS across fork + exec into the child,
    # so the children must start before this process holds a big panel.
    for n in [int(x) for x in args.rss.split(",") if x]:
        mb = out.setdefault("peak_rss_mb", {})[str(n)] = peak_rss_mb(n, False)
        print(f"peak RSS, {n:,} bars, pass-through: {mb:,.0f} MiB")
    panel = stitched_panel(args.bars)
    cases = {"both": (False, True), "none": (False,), "default": (True,)}[args.risk]
    for risk in cases:
        # Untimed warm-up: the first run in a process loads or compiles the compiled
        # kernels (~0.3 s), which a best of 1 would count as per-step cost.
        time_run(stitched_panel(WARMUP_BARS), risk, 1)
        name = "default_risk" if risk else "pass_through"
        r = out[name] = time_run(panel, risk, args.repeat)
        print(
            f"sma_cross 10/30, {args.bars:,} bars, {name}: best of {args.repeat}: "
            f"{r['cpu_s']:.3f} s CPU, {r['us_per_step']:.2f} µs/step, "
            f"{r['bars_per_s']:,.0f} bars/s, {r['fills']} fills"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"(this process: peak RSS {own:,.0f} MiB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    if saved is not None and not compare(out, args.compare, saved):
        sys.exit(1)


if __name__ == "__main__":
    main()
