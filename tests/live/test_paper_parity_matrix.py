"""Principle 1 ("one engine") beyond the daily defaults of ``test_paper_parity.py``: for
each combination below a paper replay of the backtest's bars, unpersisted and persisted
with a crash and a restart in the middle, gives bit-identical orders, fills, equity,
risk events and parent-order records to ``alphapulse backtest``'s runner: execution
algorithms on one-minute bars (session hours, every leftover rule, ``fill_at: close``),
guards that fire (daily loss, kill switch, auto-disable, stale data) on crypto with
fractional lots, latency and partial fills, the ML strategy with refits, the sentiment
strategy, and anomalies with a risk reaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_backtest
from alphapulse.live.session import run_session

from .helpers import SYMBOLS, Crash, assert_same_run, paper_cfg

ML = "alphapulse.strategies.ml_strategy:MLStrategy"
pytestmark = pytest.mark.filterwarnings("ignore:ml strategy cannot train")  # its warm-up


def _algo(name: str, algo: str, leftover: str, **more: Any) -> dict[str, Any]:
    execution = {
        "algo": algo,
        "horizon": "45min",
        "max_participation": 0.2,
        "session": ["09:30", "16:00"],
        "leftover": leftover,
        **more,
    }
    params = {"fast": 10, "slow": 40}
    return {"strategy": "sma_cross", "name": name, "params": params, "execution": execution}


def _intraday(end: str = "2024-01-06", **over: Any) -> dict[str, Any]:
    """Every algorithm and leftover rule on three sparse one-minute names, four days."""
    raw = paper_cfg(
        data={"source": "intraday_1min_2024", "symbols": ["FDS", "LII", "NDSN"],
              "start": "2024-01-02", "end": end, "session_tz": "America/New_York"},
        initial_cash=1_000_000.0,
        risk={"limits": {"max_position_pct": 0.3}, "guards": {"daily_loss_limit": None,
              "intraday_loss_limit": None, "max_drawdown": None}},
        strategies=[
            _algo("twap", "twap", "cancel"),
            _algo("vwap", "vwap", "carry", profile_sessions=2),
            _algo("pov", "pov", "market", passive=False),
            _algo("is", "is", "cancel", urgency="high", child_interval=3),
        ],
    )  # fmt: skip
    return {**raw, **over}


def _crypto() -> dict[str, Any]:
    """Hourly BTC and ETH, fractional lots, 90 minutes of latency, 2% participation
    (partial fills), tight loss limits: the daily loss guard, the kill switch and
    auto-disable fire; stale data flattens."""
    return paper_cfg(
        data={"source": "crypto_binance_1h", "symbols": ["BTCUSDT", "ETHUSDT"],
              "start": "2019-06-20", "end": "2019-08-10", "on_bad": "quarantine"},
        execution={"commission": {"model": "percent", "rate": 0.001},
                   "slippage": {"model": "fixed_bps", "bps": 2}, "max_participation": 0.02,
                   "latency_ns": 90 * 60 * 10**9, "lot_size": 0.0001},
        initial_cash=2_000_000.0,
        risk={
            "limits": {"max_position_pct": 0.6, "max_group_pct": None},
            "stops": {"stop_loss": {"value": 0.03}, "take_profit": {"value": 0.05}},
            "guards": {"daily_loss_limit": 0.01, "intraday_loss_limit": None,
                       "max_drawdown": 0.08, "stale_data": {"bars": 2, "action": "flatten"},
                       "auto_disable": {"max_drawdown": 0.05, "underperformance": None,
                                        "patience": 3}},
        },
        strategies=[
            {"strategy": "sma_cross", "params": {"fast": 5, "slow": 30}},
            {"strategy": "mean_reversion", "params": {"window": 24, "entry_z": 1.0}},
            {"strategy": "momentum", "params": {"lookback": 48, "rebalance_every": 12}},
        ],
    )  # fmt: skip


def _ml() -> dict[str, Any]:
    """The ML strategy refitting a logistic model every 60 bars, confidence sizing."""
    params = {"retrain_every": 60, "min_train_rows": 200, "label": {"horizon": 5},
              "model": {"kind": "logistic"}, "rebalance_every": 5}  # fmt: skip
    return paper_cfg(
        data={**paper_cfg()["data"], "symbols": SYMBOLS[:5], "end": "2016-06-30"},
        portfolio={"method": "confidence"},
        strategies=[{"strategy": ML, "name": "ml", "params": params}],
    )


def _sentiment() -> dict[str, Any]:
    factor = {"halflife": 3, "window": 60, "min_periods": 20, "lag_bars": 0}
    return paper_cfg(
        data={"source": "news_headlines_2021_2022", "symbols": ["MSFT", "TSLA"],
              "start": "2021-01-04", "end": "2021-12-31"},
        strategies=[{"strategy": "sentiment", "params": {"entry": 0.5, "factor": factor}},
                    {"strategy": "buy_and_hold"}],
    )  # fmt: skip


def _anomalies() -> dict[str, Any]:
    raw = paper_cfg(
        anomalies={
            "price": {"low": 3, "medium": 4, "high": 6, "critical": 10},
            "reaction": {"min_severity": "high", "action": "flatten"},
        }
    )
    raw["data"] = {**raw["data"], "start": "2016-01-01"}
    return raw


def _hybrid() -> dict[str, Any]:
    """The hybrid's volatility regimes and vote fusion, a regime trading with limit
    orders, its own stop and position cap."""
    high_vol = {"weights": {"trend": 0.5, "revert": 1}, "gross": 0.5, "max_position": 0.05,
                "stop": 0.03, "execution": "limit", "limit_offset_bps": 5}  # fmt: skip
    experts = [
        {"strategy": "sma_cross", "name": "trend", "params": {"fast": 5, "slow": 20}},
        {"strategy": "mean_reversion", "name": "revert", "params": {"window": 10}},
    ]
    regimes = {"calm": {"weights": {"trend": 1, "revert": 0.5}}, "high_vol": high_vol}
    params = {"experts": experts, "detector": {"kind": "vol"}, "fuser": "vote",
              "rebalance_every": 3, "regimes": regimes}  # fmt: skip
    return paper_cfg(strategies=[{"strategy": "hybrid", "params": params}])


def _kill_switch() -> dict[str, Any]:
    """A 3% drawdown kill switch (flatten and halt) and orders under a price floor."""
    guards = {"max_drawdown": 0.03, "daily_loss_limit": None, "intraday_loss_limit": None}
    return paper_cfg(risk={"guards": guards, "limits": {"max_position_pct": 0.5, "min_price": 60}})


def _intraday_day() -> dict[str, Any]:
    """One day, two algorithms at the close: few enough steps to journal every one."""
    return _intraday(
        "2024-01-02",
        strategies=[_algo("vwap", "vwap", "carry", profile_sessions=1),
                    _algo("pov", "pov", "market", passive=False)],
        fill_at="close",
    )  # fmt: skip


#: case -> (config, risk events its backtest must have: the guards that fire)
CASES: dict[str, tuple[Callable[[], dict[str, Any]], set[str]]] = {
    "algos_intraday": (_intraday, set()),
    "algos_intraday_fill_at_close": (lambda: _intraday(fill_at="close"), set()),
    "algos_intraday_day": (_intraday_day, set()),
    "crypto_guards_latency_partial_lots": (_crypto, {"daily_loss_limit", "strategy_disabled"}),
    "ml_refits": (_ml, set()),
    "sentiment": (_sentiment, set()),
    "anomaly_reaction": (_anomalies, {"anomaly_flatten"}),
    "hybrid_vol_regimes": (_hybrid, {"stop_loss"}),
    "kill_switch_min_price": (_kill_switch, {"kill_switch", "order_rejected"}),
}
RESTARTS = list(CASES)[2:]  # a persisted session journals every step: not 4 one-minute days


def _assert_same(paper: dict[str, RunResult], backtest: dict[str, RunResult]) -> None:
    assert list(paper) == list(backtest)
    for label, r in backtest.items():
        assert_same_run(paper[label], r)
        got, want = (pd.DataFrame(x.executions) for x in (paper[label], r))
        pd.testing.assert_frame_equal(got, want, obj=label)


def _crash_after(steps: int) -> Any:
    seen = [0]

    def hook(bar: BarSlice) -> None:
        seen[0] += 1
        if seen[0] == steps:
            raise Crash(bar.ts_ns)

    return hook


@pytest.fixture(scope="module")
def backtests(shared_data: Path) -> dict[str, tuple[BacktestConfig, dict[str, RunResult]]]:
    out = {}
    for name, (make, fired) in CASES.items():
        cfg = parse_config(make())
        results = out[name] = cfg, run_backtest(cfg, workers=1)
        assert all(r.fills for r in results[1].values()), name
        assert fired <= {e.kind for r in results[1].values() for e in r.risk_events}, name
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_replay_matches_backtest(
    case: str, backtests: dict[str, tuple[BacktestConfig, dict[str, RunResult]]]
) -> None:
    cfg, backtest = backtests[case]
    _assert_same(run_session(cfg, persist=False).results, backtest)


@pytest.mark.parametrize("case", RESTARTS)
def test_restart_matches_backtest(
    case: str, backtests: dict[str, tuple[BacktestConfig, dict[str, RunResult]]], tmp_path: Path
) -> None:
    cfg, backtest = backtests[case]
    db = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    n = len(next(iter(backtest.values())).timestamps)
    with pytest.raises(Crash):
        run_session(cfg, db_url=db, on_step=_crash_after(n // 2))
    _assert_same(run_session(cfg, db_url=db).results, backtest)
