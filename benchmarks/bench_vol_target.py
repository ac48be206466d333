"""Volatility targeting vs equal weight on S&P 500 daily data: realised annualised
volatility against the target.

    .venv/bin/python benchmarks/bench_vol_target.py [--symbols 40] [--targets 0.05 0.10]

Every run holds the same universe long (buy-and-hold signals) and rebalances weekly
(every 5 bars, 0.5% drift threshold); the first ``lookback`` bars (no estimate yet) are
left out of the realised figures. Costs are on (per-share commission, 2 bp slippage).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_backtest

DATASET = "sp500_daily_2013_2018"


def universe(n: int) -> list[str]:
    """``n`` symbols spread over the alphabet, with the full 2013-2018 history."""
    full = [s for s in dataset_symbols(DATASET)]
    step = max(len(full) // (2 * n), 1)
    return full[::step][: 2 * n]


def realised(r: RunResult, skip: int) -> tuple[float, float, float]:
    """(annualised vol, annualised return, max drawdown) after ``skip`` warm-up bars."""
    eq = r.equity[skip:]
    lr = np.diff(np.log(eq))
    vol = float(lr.std(ddof=1) * math.sqrt(252))
    ret = float(math.exp(lr.mean() * 252) - 1)
    dd = float((1 - eq / np.maximum.accumulate(eq)).max())
    return vol, ret, dd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=40)
    ap.add_argument("--targets", type=float, nargs="+", default=[0.05, 0.08, 0.10])
    ap.add_argument("--lookback", type=int, default=60)
    ap.add_argument("--estimator", choices=["std", "atr"], default="std")
    ap.add_argument("--drift", type=float, default=0.001)
    args = ap.parse_args()
    t0 = time.perf_counter()
    panel = load_panel(DATASET, universe(args.symbols))
    keep = [s for j, s in enumerate(panel.symbols) if not np.isnan(panel["close"][:, j]).any()]
    panel = load_panel(DATASET, keep[: args.symbols])
    print(f"{panel.n_symbols} symbols x {panel.n_bars} bars ({time.perf_counter() - t0:.1f} s)")
    rebalance = {"every": 5, "drift_threshold": args.drift}
    strategies = [{"strategy": "buy_and_hold", "name": "equal_weight"}]
    portfolios: dict[str, dict] = {"equal_weight": {"method": "equal_weight"}}
    for tv in args.targets:
        name = f"vol_target_{tv:g}"  # a run name is a plain file name: no "%"
        strategies.append({"strategy": "buy_and_hold", "name": name})
        portfolios[name] = {
            "method": "vol_target",
            "target_vol": tv,
            "lookback": args.lookback,
            "estimator": args.estimator,
            "max_weight": 0.10,
        }
    print(f"{'portfolio':<16}{'target':>8}{'realised vol':>14}{'return':>9}{'max DD':>9}"
          f"{'gross':>8}{'fills':>7}{'secs':>7}")  # fmt: skip
    for s in strategies:
        name = s["name"]
        cfg = parse_config(
            {
                "data": {"source": DATASET, "symbols": list(panel.symbols)},
                "initial_cash": 10_000_000,
                "execution": {
                    "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
                    "slippage": {"model": "fixed_bps", "bps": 2},
                },
                "portfolio": {**portfolios[name], "rebalance": rebalance},
                "risk": {
                    "limits": {"max_position_pct": 0.12, "max_group_pct": None},
                    "guards": {
                        "daily_loss_limit": None,
                        "max_drawdown": None,
                        "intraday_loss_limit": None,
                    },
                },
                "strategies": [s],
            }
        )
        t = time.perf_counter()
        r = run_backtest(cfg, panel, workers=1)[name]
        secs = time.perf_counter() - t
        vol, ret, dd = realised(r, args.lookback + 1)
        gross = float(
            np.mean(r.gross_exposure[args.lookback + 1 :] / r.equity[args.lookback + 1 :])
        )
        target = portfolios[name].get("target_vol")
        tgt = f"{target:.1%}" if target else "-"
        label = f"vol_target_{target:.0%}" if target else name
        print(f"{label:<16}{tgt:>8}{vol:>14.2%}{ret:>9.2%}{dd:>9.2%}{gross:>8.2f}"
              f"{len(r.fills):>7}{secs:>7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
