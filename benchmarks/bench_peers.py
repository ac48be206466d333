"""AlphaPulse (event engine and compiled path) against backtrader, backtesting.py and
vectorbt, in one invocation, on identical semantics: SMA crossover 10/30 on closes (a
missing row repeats the last close; ties within TIE_TOL are equal), market orders at the
next bar's open (a row without open/high/low/close cannot fill: the order waits, a later
signal replaces it), flat -> long buys floor(cash / open) whole shares, exit sells all,
no commission or slippage, open positions valued at the last close. Every engine's trades
and final equity are checked against the compiled path and the result printed ("match").
backtrader and backtesting.py get only the complete rows (their SMAs skip an incomplete
row), so they are comparable only on symbols whose rows are all complete (the first 25).

Cases:
- ``1x1M``: one symbol, 1,000,000 bars stitched from real daily bars of
  sp500_daily_2013_2018 (each symbol's complete rows, rescaled to start at 100, one
  after the other on a 1-minute clock);
- ``495x1259``: every symbol of sp500_daily_2013_2018, each its own single-symbol
  all-in portfolio (what backtrader / backtesting.py / vectorbt run per column);
- ``xsec``: AlphaPulse only: the 495 symbols as one EqualSlot portfolio (shared cash).

Time is CPU time (``time.process_time``: all threads of this process), best of
``--repeat``, each run after a full garbage collection (the collector stays on). Engines
too slow for the full size run on a slice (``--slice`` bars / ``--symbols-slow``
symbols) and are extrapolated per bar; the table says so. backtrader and backtesting.py
run once on their slices; the 1-symbol event run ``--event-repeat`` times.

    .venv/bin/python benchmarks/bench_peers.py                     # full run, ~10 min
    .venv/bin/python benchmarks/bench_peers.py --save              # + benchmarks/results/peers.json
    .venv/bin/python benchmarks/bench_peers.py --compare benchmarks/results/peers.json
    .venv/bin/python benchmarks/bench_peers.py --cases 495x1259    # one case only
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg", force=True)
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bars

import numpy as np
import pandas as pd
from numba import njit

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_strategy
from alphapulse.strategies.indicators import TIE_TOL
from alphapulse.sweep.book import run_columns
from alphapulse.sweep.compiled import market_arrays, run_compiled, target_weights
from alphapulse.sweep.signals import VectorSignals, sma_cross_directions

DATASET = "sp500_daily_2013_2018"
FAST, SLOW = 10, 30
CASH = 1_000_000.0
RESULTS = Path(__file__).parent / "results" / "peers.json"
TOLERANCE = 0.20  # a bars/s drop beyond this is a regression
CASES = ("1x1M", "495x1259", "xsec")


# -- data -----------------------------------------------------------------------------
def stitched(n_bars: int) -> Panel:
    """One symbol, ``n_bars`` real daily bars: each symbol's complete rows rescaled to
    start at 100, concatenated (cycling through the symbols) on a 1-minute clock."""
    names = dataset_symbols(DATASET)
    panel = load_panel(DATASET, names)
    keys = ("open", "high", "low", "close", "volume")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    total, j = 0, 0
    while total < n_bars:
        col = {k: panel.fields[k][:, j % len(names)] for k in keys}
        ok = ~np.isnan(np.column_stack([col[k] for k in keys[:4]])).any(axis=1)
        scale = 100.0 / col["close"][ok][0]
        for k in keys:
            parts[k].append(col[k][ok] * (scale if k != "volume" else 1.0))
        total += int(ok.sum())
        j += 1
    fields = {k: np.concatenate(v)[:n_bars, None] for k, v in parts.items()}
    ts = np.arange(n_bars, dtype=np.int64) * 60_000_000_000 + 1_577_836_800_000_000_000
    return Panel(ts, ("STITCH",), fields)


def config(symbols: list[str]) -> Any:
    return parse_config(
        {
            "data": {"source": DATASET, "symbols": symbols},
            "initial_cash": CASH,
            "execution": {"commission": {"model": "none"}, "slippage": {"model": "none"}},
            "strategies": [{"strategy": "sma_cross", "params": {"fast": FAST, "slow": SLOW}}],
        }
    )


def frame(panel: Panel, j: int) -> pd.DataFrame:
    df = pd.DataFrame({k: panel.fields[k][:, j] for k in ("open", "high", "low", "close")})
    df["volume"] = panel.fields["volume"][:, j]
    df.index = pd.to_datetime(panel.timestamps, utc=True).tz_localize(None)
    return df.dropna(subset=["open", "high", "low", "close"])


def states(df: pd.DataFrame) -> np.ndarray:
    """+1/-1/0 (tie) of the fast against the slow SMA, NaN while incomplete."""
    f = df["close"].rolling(FAST).mean().to_numpy()
    s = df["close"].rolling(SLOW).mean().to_numpy()
    d, tol = f - s, TIE_TOL * np.maximum(np.abs(f), np.abs(s))
    return np.where(np.isnan(d), np.nan, np.where(d > tol, 1.0, np.where(d < -tol, -1.0, 0.0)))


# -- engines: each returns (final equity, number of fills) per symbol ---------------------
Result = tuple[float, int]


def ap_compiled(panel: Panel) -> list[Result]:
    d = sma_cross_directions(forward_close(panel), FAST, SLOW)
    w = target_weights(VectorSignals(d), 1)
    o, c, fillable = market_arrays(panel)
    final, n_fills = run_columns(o, c, fillable, w, CASH, 0.0, 0.0)
    return [(float(e), int(n)) for e, n in zip(final, n_fills, strict=True)]


def forward_close(panel: Panel) -> np.ndarray:
    from alphapulse.engine.feed import forward_fill

    return forward_fill(panel.fields["close"])


def ap_event(panel: Panel) -> list[Result]:
    out = []
    for s in panel.symbols:
        one = panel.select([s]) if panel.n_symbols > 1 else panel
        cfg = config([s])
        r = run_strategy(cfg, cfg.strategies[0], one)
        out.append((float(r.equity[-1]), len(r.fills)))
    return out


def vbt_run(panel: Panel) -> list[Result]:
    import vectorbt as vbt

    cols = list(range(panel.n_symbols))
    close = pd.DataFrame(panel.fields["close"], columns=cols)
    open_ = pd.DataFrame(panel.fields["open"], columns=cols)
    # the SMAs see the close carried over missing rows (AlphaPulse's strategy prices); on
    # the raw closes one missing row blanks vectorbt's SMAs for the next SLOW rows
    carried = close.ffill()
    fast = vbt.MA.run(carried, FAST, short_name="f").ma.to_numpy()
    slow = vbt.MA.run(carried, SLOW, short_name="s").ma.to_numpy()
    d, tol = fast - slow, TIE_TOL * np.maximum(np.abs(fast), np.abs(slow))
    st = np.where(np.isnan(d), np.nan, np.where(d > tol, 1.0, np.where(d < -tol, -1.0, 0.0)))
    prev = np.vstack([np.full((1, st.shape[1]), np.nan), st[:-1]])
    up, down = (st > 0) & (prev <= 0), (st < 0) & (prev >= 0)
    entries, exits = _next_fillable(market_arrays(panel)[2], up, down)
    pf = vbt.Portfolio.from_signals(
        close, entries, exits, price=open_, size=np.inf, size_granularity=1.0,
        init_cash=CASH, fees=0.0, freq="1D",
    )  # fmt: skip
    final = pf.final_value().to_numpy()
    n = pf.orders.count().to_numpy()
    return [(float(e), int(k)) for e, k in zip(final, n, strict=True)]


@njit(cache=True)
def _next_fillable(
    fillable: np.ndarray, up: np.ndarray, down: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The crossings at row t as vectorbt entries / exits at the first later row with all
    of OHLC, where AlphaPulse's market order fills (vectorbt would drop an order whose
    price is NaN); a later crossing before that row replaces the waiting one."""
    n, m = fillable.shape
    entries, exits = np.zeros((n, m), np.bool_), np.zeros((n, m), np.bool_)
    waiting = np.zeros(m, np.int64)  # +1 buy, -1 sell, 0 none
    for t in range(n):
        for j in range(m):
            if waiting[j] != 0 and fillable[t, j]:
                entries[t, j], exits[t, j] = waiting[j] > 0, waiting[j] < 0
                waiting[j] = 0
            if up[t, j]:
                waiting[j] = 1
            elif down[t, j]:
                waiting[j] = -1
    return entries, exits


def bt_run(panel: Panel) -> list[Result]:
    import backtrader as bt

    class Sma(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.f = bt.ind.SMA(self.data.close, period=FAST)
            self.s = bt.ind.SMA(self.data.close, period=SLOW)
            self.pending = 0
            self.n = 0

        def next(self) -> None:
            if len(self) < SLOW + 1:
                return
            now, prev = _cmp(self.f[0], self.s[0]), _cmp(self.f[-1], self.s[-1])
            self.pending = 1 if now > 0 and prev <= 0 else (-1 if now < 0 and prev >= 0 else 0)

        def next_open(self) -> None:
            if self.pending == 1 and not self.position:
                size = math.floor(self.broker.getcash() / self.data.open[0] + 1e-9)
                if size > 0:
                    self.buy(size=size)
            elif self.pending == -1 and self.position:
                self.close()
            self.pending = 0

        def notify_order(self, order: Any) -> None:
            self.n += order.status == order.Completed

    out = []
    for j in range(panel.n_symbols):
        cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
        cerebro.broker.set_coo(True)
        cerebro.broker.setcash(CASH)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame(panel, j)))
        cerebro.addstrategy(Sma)
        strat = cerebro.run()[0]
        out.append((float(cerebro.broker.getvalue()), int(strat.n)))
    return out


def _cmp(a: float, b: float) -> int:
    d = a - b
    tol = TIE_TOL * max(abs(a), abs(b))
    return 1 if d > tol else (-1 if d < -tol else 0)


def btpy_run(panel: Panel) -> list[Result]:
    from backtesting import Backtest, Strategy

    class Sma(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.st = self.I(lambda c: states(pd.DataFrame({"close": c})), self.data.Close)

        def next(self) -> None:
            now, prev = self.st[-1], self.st[-2] if len(self.st) > 1 else np.nan
            if now > 0 and prev <= 0 and not self.position:
                self.buy(size=1 - 1e-12)
            elif now < 0 and prev >= 0 and self.position:
                self.position.close()

    out = []
    for j in range(panel.n_symbols):
        df = frame(panel, j).rename(columns=str.capitalize)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt_ = Backtest(df, Sma, cash=CASH, commission=0.0, finalize_trades=False)
            stats = bt_.run()
        closed = int(stats["_trades"]["ExitTime"].notna().sum())
        n_fills = 2 * closed + int(bool(stats["_strategy"].position))  # + an open entry
        out.append((float(stats["Equity Final [$]"]), n_fills))
    return out


# -- timing -----------------------------------------------------------------------------
def best_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best CPU time of ``repeat`` calls; each starts after a full garbage collection
    (the collector stays on while it runs, for every engine alike)."""
    best, out = math.inf, None
    for _ in range(repeat):
        out = None  # the last result is not kept alive through the next run
        gc.collect()
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def measure(
    name: str, fn: Callable[[Panel], list[Result]], panel: Panel, full_bars: int, repeat: int
) -> dict[str, Any]:
    bars = int(np.isfinite(panel.fields["close"]).sum())
    cpu, res = best_cpu(lambda: fn(panel), repeat)
    scale = full_bars / bars
    return {
        "engine": name,
        "bars_run": bars,
        "cpu_s": cpu * scale,
        "bars_per_s": bars / cpu if cpu > 0 else math.inf,
        "extrapolated": scale > 1.0001,
        "results": res,
    }


def matches(ours: list[Result], theirs: list[Result]) -> str:
    k = len(theirs)
    ok = sum(
        n1 == n2 and math.isclose(e1, e2, rel_tol=1e-9)
        for (e1, n1), (e2, n2) in zip(ours[:k], theirs, strict=True)
    )
    return f"{ok}/{k}"


def table(case: str, rows: list[dict[str, Any]]) -> None:
    ref = next(r for r in rows if r["engine"] == "alphapulse-compiled")
    print(f"\n== {case} ==")
    print(f"{'engine':<22}{'CPU s':>10}{'bars/s':>14}{'vs compiled':>13}  match   note")
    for r in rows:
        ratio = r["bars_per_s"] / ref["bars_per_s"]
        note = f"extrapolated from {r['bars_run']:,} bars" if r["extrapolated"] else ""
        print(
            f"{r['engine']:<22}{r['cpu_s']:>10.3f}{r['bars_per_s']:>14,.0f}{ratio:>12.3f}x"
            f"  {r.get('match', ''):<7} {note}"
        )


def run_cases(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    cases = set(args.cases.split(","))
    # warm-ups (numba compile / cache load, vectorbt's first-run compile), 1 and 2 columns
    warm = load_panel(DATASET, dataset_symbols(DATASET)[:2], end="2014-06-01")
    ap_compiled(warm)
    vbt_run(warm)
    if "1x1M" in cases:
        out["1x1M"] = one_symbol(args)
    if cases & {"495x1259", "xsec"}:
        out.update(cross_section(args, cases))
    return out


def one_symbol(args: argparse.Namespace) -> list[dict[str, Any]]:
    one = stitched(args.bars)
    part = Panel(one.timestamps[: args.slice], one.symbols, {
        k: v[: args.slice] for k, v in one.fields.items()
    })  # fmt: skip
    ev = Panel(one.timestamps[: args.event_bars], one.symbols, {
        k: v[: args.event_bars] for k, v in one.fields.items()
    })  # fmt: skip
    ap_compiled(part)
    vbt_run(part)
    rows = [measure("alphapulse-compiled", ap_compiled, one, args.bars, args.repeat)]
    rows.append(measure("alphapulse-event", ap_event, ev, args.bars, args.event_repeat))
    rows.append(measure("vectorbt", vbt_run, one, args.bars, args.repeat))
    rows.append(measure("backtesting.py", btpy_run, part, args.bars, args.repeat))
    rows.append(measure("backtrader", bt_run, part, args.bars, args.repeat))
    cfg = config(["STITCH"])
    full = run_compiled(cfg, cfg.strategies[0], one)
    assert rows[0]["results"][0] == (float(full.equity[-1]), len(full.fills))
    for r in rows[1:]:
        sub = ap_compiled(ev if r["engine"] == "alphapulse-event" else part)
        r["match"] = matches(sub if r["extrapolated"] else rows[0]["results"], r["results"])
    rows[0]["match"] = "ref"
    return rows


def cross_section(args: argparse.Namespace, cases: set[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    names = dataset_symbols(DATASET)[: args.symbols]
    panel = load_panel(DATASET, names)
    bars = int(np.isfinite(panel.fields["close"]).sum())
    if "495x1259" in cases:
        slow = panel.select(list(panel.symbols[: args.symbols_slow]))
        rows = [measure("alphapulse-compiled", ap_compiled, panel, bars, args.repeat)]
        rows.append(measure("alphapulse-event", ap_event, slow, bars, args.repeat))
        rows.append(measure("vectorbt", vbt_run, panel, bars, args.repeat))
        rows.append(measure("backtesting.py", btpy_run, slow, bars, 1))
        rows.append(measure("backtrader", bt_run, slow, bars, 1))
        for r in rows[1:]:
            r["match"] = matches(rows[0]["results"], r["results"])
        rows[0]["match"] = "ref"
        out["495x1259"] = rows
    if "xsec" not in cases:
        return out
    cfg = config(list(panel.symbols))
    x = [measure("alphapulse-compiled", lambda p: _xsec(cfg, p, run_compiled), panel, bars, 3)]
    x.append(measure("alphapulse-event", lambda p: _xsec(cfg, p, run_strategy), panel, bars, 3))
    x[1]["match"] = "1/1" if x[0]["results"] == x[1]["results"] else "0/1"
    x[0]["match"] = "ref"
    out["xsec"] = x
    return out


def _xsec(cfg: Any, panel: Panel, fn: Callable[..., Any]) -> list[Result]:
    r = fn(cfg, cfg.strategies[0], panel)
    return [(float(r.equity[-1]), len(r.fills))]


def compare(now: dict[str, Any], path: Path, text: str) -> int:
    """Print each engine's bars/s against ``path`` (its ``text`` as read before this run
    saved anything): the raw change and the change against the peers, i.e. divided by
    the geometric mean of the peers' own changes (how much faster or slower this machine
    and moment are); 1 when an AlphaPulse engine dropped more than TOLERANCE against
    the peers (a raw drop alone is the machine, when the peers dropped as much)."""
    old = json.loads(text)["cases"]
    pairs = []  # (case, row now, row before) for every engine in both files
    for case, rows in now.items():
        before = {r["engine"]: r for r in old.get(case, [])}
        pairs += [(case, r, before[r["engine"]]) for r in rows if r["engine"] in before]
    peers = [r["bars_per_s"] / b["bars_per_s"] for _, r, b in pairs if not _ours(r)]
    machine = float(np.exp(np.mean(np.log(peers)))) if peers else 1.0
    print(f"\n== against {path} (peers' speed now: {machine - 1:+.1%}; regression: an "
          f"AlphaPulse engine down > {TOLERANCE:.0%} against the peers) ==")  # fmt: skip
    print(f"{'case':<10}{'engine':<22}{'raw':>8}{'vs peers':>10}")
    bad = 0
    for case, r, b in pairs:
        raw = r["bars_per_s"] / b["bars_per_s"]
        rel = raw / machine - 1.0
        flag = "REGRESSION" if _ours(r) and rel < -TOLERANCE else ""
        bad += bool(flag)
        print(f"{case:<10}{r['engine']:<22}{raw - 1:>+8.1%}{rel:>+10.1%}  {flag}")
    return 1 if bad else 0


def _ours(row: dict[str, Any]) -> bool:
    return str(row["engine"]).startswith("alphapulse")


def _cpu() -> str:
    """The processor's model name (what tells two machines apart)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--event-bars", type=int, default=1_000_000, help="event engine, 1 symbol")
    ap.add_argument("--event-repeat", type=int, default=1, help="event engine, 1 symbol")
    ap.add_argument("--slice", type=int, default=50_000, help="backtrader/backtesting.py bars")
    ap.add_argument("--symbols", type=int, default=495)
    ap.add_argument("--symbols-slow", type=int, default=25, help="per-symbol slow engines")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    ap.add_argument("--save", action="store_true", help=f"write {RESULTS}")
    ap.add_argument("--compare", type=Path, default=None, help="earlier results file")
    args = ap.parse_args()
    if set(args.cases.split(",")) - set(CASES):
        ap.error(f"--cases: choose from {','.join(CASES)}")
    if args.save and set(args.cases.split(",")) != set(CASES):
        ap.error("--save needs every case")
    earlier = None if args.compare is None else args.compare.read_text()  # before --save
    cases = run_cases(args)
    for case, rows in cases.items():
        table(case, rows)
    slim = {c: [{k: v for k, v in r.items() if k != "results"} for r in rows]
            for c, rows in cases.items()}  # fmt: skip
    if args.save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        meta = {"argv": sys.argv[1:], "when": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu": _cpu()}
        RESULTS.write_text(json.dumps({"meta": meta, "cases": slim}, indent=1) + "\n")
        print(f"\nwrote {RESULTS}")
    if args.compare is not None and earlier is not None:
        sys.exit(compare(slim, args.compare, earlier))


if __name__ == "__main__":
    main()
