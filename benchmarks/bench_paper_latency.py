"""Paper-trading decision latency: time from a cross-section's arrival (the row is
ready) to its orders (every strategy stepped: History append, venue matching, marks,
risk, signals, targets, orders), on a 50-symbol S&P 500 daily replay at full speed.
The database commit comes after the decision and is timed separately (``--db``).

The ML case first trains a LightGBM classifier on the bars up to 2015-12-31 and
registers it in a temporary registry (``alphapulse train``'s ``run_training``), then
paper-trades it from the registry on 2016-01-04 .. 2018 (no refits): each bar is the
incremental features of every symbol, one LightGBM inference, signals (every bar),
risk and orders. Its percentiles cover the bars the model predicted (after the
features' warm-up, ~80 bars).

.venv/bin/python benchmarks/bench_paper_latency.py [--symbols 50] [--db sqlite:///x.sqlite]
    [--no-ml] [--only-ml]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from alphapulse.config import parse_config
from alphapulse.data.catalog import dataset_symbols
from alphapulse.live.session import SessionResult, run_session

DATASET = "sp500_daily_2013_2018"
ML_CASE = "ml (LightGBM from registry) + risk"
ML_TRAIN_END = "2015-12-31"  # the model's bars; the replay starts after
ML_MODEL = {
    "kind": "lgbm_classifier",
    "params": {"n_estimators": 150, "learning_rate": 0.03, "num_leaves": 15,
               "min_data_in_leaf": 200},
}  # fmt: skip
ML_LABEL = {"kind": "forward_return", "horizon": 5, "entry": "next_open", "cross_sectional": True}

CASES: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {
    "sma_cross, no risk stage": ([{"strategy": "sma_cross"}], None),
    "sma_cross + full risk stage": (
        [{"strategy": "sma_cross"}],
        {"stops": {"stop_loss": {"value": 0.05}, "trailing": True}},
    ),
    "4 strategies + risk (last one's orders)": (
        [
            {"strategy": "buy_and_hold"},
            {"strategy": "sma_cross", "params": {"fast": 20, "slow": 100}},
            {"strategy": "mean_reversion", "params": {"window": 20, "entry_z": 2.0}},
            {"strategy": "momentum", "params": {"lookback": 126, "rebalance_every": 21}},
        ],
        {},
    ),
}


def _session(
    symbols: list[str],
    strategies: list[dict[str, Any]],
    risk: dict[str, Any] | None,
    db: str | None,
    **extra: Any,
) -> tuple[SessionResult, float]:
    raw: dict[str, Any] = {
        "name": "bench-latency",
        "data": {"source": DATASET, "symbols": symbols},
        "initial_cash": 1_000_000,
        "execution": {"commission": {"model": "per_share", "per_share": 0.005},
                      "slippage": {"model": "fixed_bps", "bps": 2},
                      "max_participation": 0.05},
        "strategies": strategies,
        "paper": {"feed": "replay", "speed": 0, "session": f"bench-{time.time_ns()}"},
    }  # fmt: skip
    if risk is not None:
        raw["risk"] = risk
    for key, value in extra.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    cfg = parse_config(raw)
    t0 = time.perf_counter()
    done = run_session(cfg, persist=db is not None, db_url=db)
    return done, time.perf_counter() - t0


def _row(name: str, lat_s: np.ndarray, wall: float, note: str = "") -> None:
    lat = np.asarray(lat_s) * 1e3
    p50, p90, p99 = np.percentile(lat, [50, 90, 99])
    print(f"{name:50s} {len(lat):6d} {p50:8.3f} {p90:8.3f} {p99:8.3f} {lat.max():8.3f}"
          f"   (run {wall:.1f} s{note})")  # fmt: skip


def train_model(symbols: list[str], root: Path) -> tuple[str, float]:
    """Train + register the ML case's model on the bars up to ML_TRAIN_END."""
    from alphapulse.ml.training import TrainConfig, run_training

    cfg = TrainConfig.model_validate(
        {
            "name": "bench_lgbm",
            "data": {"source": DATASET, "symbols": symbols},
            "label": ML_LABEL,
            "model": ML_MODEL,
            "train_end": ML_TRAIN_END,
            "registry": {"root": str(root)},
        }
    )
    t0 = time.perf_counter()
    out = run_training(cfg)
    return f"{out['name']} v{out['version']} ({out['metadata']['train_rows']} rows)", (
        time.perf_counter() - t0
    )


def ml_case(symbols: list[str], db: str | None) -> None:
    from alphapulse.strategies.ml_strategy import MLStrategy

    with tempfile.TemporaryDirectory(prefix="bench-mlruns-") as tmp:
        model, secs = train_model(symbols, Path(tmp))
        print(f"  (trained + registered {model} on bars up to {ML_TRAIN_END} in {secs:.1f} s)")
        strategy = {
            "strategy": "alphapulse.strategies.ml_strategy:MLStrategy",
            "name": "ml",
            "params": {
                "registry": {"name": "bench_lgbm", "version": 1, "root": tmp},
                "rebalance_every": 1,  # signals and orders every bar
                "signal": {"rank": True, "long_above": 0.8, "exit_below": 0.5},
            },
        }
        done, wall = _session(
            symbols, [strategy], {}, db, data={"start": "2016-01-01"},
            portfolio={"method": "confidence", "max_weight": 0.05},
        )  # fmt: skip
    strat = done.runtime.engines["ml"].strategy
    assert isinstance(strat, MLStrategy) and not strat.retrains
    lat = np.array(done.runtime.latency.samples)
    predicted = np.isfinite(strat.predictions).any(axis=1)
    assert predicted.shape == lat.shape, (predicted.shape, lat.shape)
    orders = len(done.results["ml"].orders)
    _row(f"{ML_CASE}, {len(symbols)} symbols", lat[predicted], wall, f", {orders} orders")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--db", default=None, help="also journal to this database (commit timing)")
    ap.add_argument("--no-ml", action="store_true", help="skip the ML case")
    ap.add_argument("--only-ml", action="store_true", help="only the ML case")
    args = ap.parse_args()
    symbols = dataset_symbols(DATASET)[: args.symbols]
    print(f"{len(symbols)} symbols, {DATASET} replayed at full speed")
    print(f"{'case':50s} {'steps':>6s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    if not args.only_ml:
        for name, (strategies, risk) in CASES.items():
            done, wall = _session(symbols, strategies, risk, args.db)
            _row(name, np.array(done.runtime.latency.samples), wall)
    if not args.no_ml:
        ml_case(symbols, args.db)
    print("target: p99 < 5 ms (ML from the registry included; in-loop refits excluded)")


if __name__ == "__main__":
    main()
