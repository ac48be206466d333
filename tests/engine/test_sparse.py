"""Quiet-bar skipping (``engine.sparse``) must change nothing: every order, fill and
per-step book row equal, bit for bit, to stepping every bar, for every built-in strategy
that declares vectorised signals, on real data (daily cross-section with late starters,
SPY minutes) under several cost models, and on random gapped panels with random sparse
signals (hypothesis). It must also really skip bars, and fall back to every bar where a
stage keeps per-bar state."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.config import BacktestConfig, StrategyConfig, parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import build_engine
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy
from alphapulse.sweep.signals import VectorSignals
from tests.engine.run_compare import assert_same_accounts

SP500 = "sp500_daily_2013_2018"
CROSS = ["AAPL", "XOM", "JPM", "FTV", "DWDP", "HLT", "O", "VRTX", "APTV", "NVDA"]
STRATEGIES: list[tuple[str, dict[str, Any]]] = [
    ("sma_cross", {"fast": 10, "slow": 30}),
    ("mean_reversion", {"window": 20, "entry_z": 1.5, "exit_z": 0.0, "short": True}),
    ("momentum", {"lookback": 60, "rebalance_every": 5, "short": True}),
    ("buy_and_hold", {}),
]
EXECUTIONS: list[dict[str, Any]] = [
    {"commission": {"model": "percent", "rate": 0.0005}, "slippage": {"model": "fixed_bps"}},
    {
        "commission": {"model": "per_share"},
        "slippage": {"model": "half_spread", "spread_bps": 5.0},
        "max_participation": 0.001,
        "allow_short": True,
    },
    {"latency_ns": 3_600_000_000_000, "lot_size": 10.0, "allow_short": True},
]


def _cfg(strategy: str, params: dict[str, Any], **over: Any) -> BacktestConfig:
    raw: dict[str, Any] = {
        "data": {"source": "in-memory"},
        "initial_cash": 100_000.0,
        "strategies": [{"strategy": strategy, "params": params}],
    }
    raw.update(over)
    return parse_config(raw)


def _run(
    cfg: BacktestConfig, panel: Panel, skip: bool, scfg: StrategyConfig | None = None
) -> tuple[RunResult, int]:
    """One run, skipping quiet bars (signals revealed) or not (``on_bar`` on every bar);
    also the number of full engine steps."""
    feed = PanelFeed(panel)
    engine = build_engine(cfg, scfg or cfg.strategies[0], feed)
    engine.skip_quiet_bars = engine.reveal_signals = skip
    full = 0
    step = engine.step

    def counted(bar: Any) -> None:
        nonlocal full
        full += 1
        step(bar)

    engine.step = counted  # type: ignore[method-assign]
    return engine.run(feed), full


def _same(a: RunResult, b: RunResult) -> None:
    # repr: exact floats (shortest round trip), NaN equal to NaN
    assert [repr(astuple(o)) for o in a.orders] == [repr(astuple(o)) for o in b.orders]
    assert [repr(tuple(f)) for f in a.fills] == [repr(tuple(f)) for f in b.fills]
    assert_same_accounts(a, b)


@pytest.fixture(scope="module")
def cross() -> Panel:
    return load_panel(SP500, CROSS)


@pytest.fixture(scope="module")
def minutes() -> Panel:
    p = load_panel("spy_1min_2011_ninjatrader", ["SPY"])
    fields = {k: v[:5_000] for k, v in p.fields.items()}
    return Panel(p.timestamps[:5_000], p.symbols, fields)


@pytest.mark.parametrize("execution", EXECUTIONS, ids=["percent", "per_share_cap", "latency"])
@pytest.mark.parametrize(("strategy", "params"), STRATEGIES, ids=[s for s, _ in STRATEGIES])
def test_skipping_equals_every_bar_on_the_cross_section(
    cross: Panel, strategy: str, params: dict[str, Any], execution: dict[str, Any]
) -> None:
    cfg = _cfg(strategy, params, execution=execution)
    sparse, full = _run(cfg, cross, True)
    dense, every = _run(cfg, cross, False)
    _same(sparse, dense)
    assert every == cross.n_bars
    assert len(dense.fills) > 0
    if strategy in ("sma_cross", "momentum"):
        assert full < cross.n_bars / 2  # quiet bars were skipped


@pytest.mark.parametrize("fill_at", ["next_open", "close"])
@pytest.mark.parametrize(("strategy", "params"), STRATEGIES[:2], ids=["sma_cross", "mean_rev"])
def test_skipping_equals_every_bar_on_minutes(
    minutes: Panel, strategy: str, params: dict[str, Any], fill_at: str
) -> None:
    cfg = _cfg(strategy, params, fill_at=fill_at)
    sparse, _ = _run(cfg, minutes, True)
    dense, _ = _run(cfg, minutes, False)
    _same(sparse, dense)
    assert len(dense.fills) > 10


@pytest.mark.parametrize(
    "over",
    [
        {"risk": {}},
        {"execution": {"slippage": {"model": "sqrt_impact"}}},
        {"portfolio": {"method": "equal_slot", "rebalance": {"every": 5}}},
    ],
    ids=["risk_stage", "volatility_venue", "rebalancing"],
)
def test_stages_with_per_bar_state_step_every_bar(cross: Panel, over: dict[str, Any]) -> None:
    cfg = _cfg("sma_cross", {"fast": 10, "slow": 30}, **over)
    _, full = _run(cfg, cross, True)
    assert full == cross.n_bars


def _run_revealed(cfg: BacktestConfig, panel: Panel, reveal: bool) -> tuple[RunResult, int]:
    """One run over every bar, the signals revealed or from ``on_bar``; also the number
    of ``on_bar`` calls."""
    feed = PanelFeed(panel)
    engine = build_engine(cfg, cfg.strategies[0], feed)
    engine.reveal_signals = reveal
    calls = 0
    on_bar = engine.strategy.on_bar

    def counted(ctx: Context) -> Any:
        nonlocal calls
        calls += 1
        return on_bar(ctx)

    engine.strategy.on_bar = counted  # type: ignore[method-assign]
    return engine.run(feed), calls


@pytest.mark.parametrize(
    ("strategy", "params", "over"),
    [
        (
            "sma_cross",
            {"fast": 10, "slow": 30},
            {"execution": {"slippage": {"model": "sqrt_impact"}}},
        ),
        (
            "momentum",
            {"lookback": 60, "rebalance_every": 5},
            {"execution": {"slippage": {"model": "sqrt_impact"}}},
        ),
        (
            "sma_cross",
            {"fast": 10, "slow": 30},
            {"execution": {"max_participation": 0.002}, "fill_at": "close"},
        ),
        ("sma_cross", {"fast": 10, "slow": 30}, {"risk": {}}),
        (
            "momentum",
            {"lookback": 60, "rebalance_every": 5},
            {"risk": {"stops": {"stop_loss": {"value": 0.05}, "trailing": True}}},
        ),
    ],
    ids=[
        "sma_volatility_venue",
        "momentum_volatility_venue",
        "sma_close_capped",
        "sma_risk_stage",
        "momentum_trailing_stops",
    ],
)
def test_revealed_signals_equal_on_bar_when_every_bar_steps(
    cross: Panel, strategy: str, params: dict[str, Any], over: dict[str, Any]
) -> None:
    """Stages that need every bar (a volatility venue, a risk stage, a cap that leaves
    orders working) step every bar; the signals are still revealed from the vectorised
    form instead of ``on_bar``, with the same orders, fills, book and risk events."""
    cfg = _cfg(strategy, params, **over)
    revealed, calls = _run_revealed(cfg, cross, True)
    called, every = _run_revealed(cfg, cross, False)
    _same(revealed, called)
    assert revealed.risk_events == called.risk_events
    assert revealed.extra.keys() == called.extra.keys()
    for k, v in revealed.extra.items():
        np.testing.assert_array_equal(v, called.extra[k])
    assert calls == 0 and every == cross.n_bars
    assert len(called.fills) > 0


def test_revealed_signals_equal_on_bar_with_an_execution_algorithm(minutes: Panel) -> None:
    """Execution algorithms need every bar; revealed signals change nothing there."""
    algo = {"algo": "vwap", "horizon": "30min", "max_participation": 0.05}
    raw: dict[str, Any] = {
        "data": {"source": "in-memory"},
        "initial_cash": 1_000_000.0,
        "strategies": [
            {"strategy": "sma_cross", "params": {"fast": 10, "slow": 30}, "execution": algo}
        ],
    }
    cfg = parse_config(raw)
    revealed, calls = _run_revealed(cfg, minutes, True)
    called, every = _run_revealed(cfg, minutes, False)
    _same(revealed, called)
    assert revealed.executions == called.executions
    assert calls == 0 and every == minutes.n_bars
    assert len(called.executions) > 5


class _Scripted(Strategy):
    """Random sparse directions, the same from ``on_bar`` and ``vectorized_signals``."""

    def __init__(self, flat: np.ndarray, conf: np.ndarray | None) -> None:
        super().__init__()
        self.flat, self.conf = flat, conf

    def on_bar(self, ctx: Context) -> Signals:
        t = ctx.t
        return Signals(self.flat[t], None if self.conf is None else self.conf[t])

    def vectorized_signals(self, prices: Any, fields: Any) -> VectorSignals:
        return VectorSignals(self.flat, confidence=self.conf)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_skipping_equals_every_bar_on_random_gapped_panels(data: st.DataObject) -> None:
    n, m = data.draw(st.integers(5, 60)), data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, m)), axis=0))
    gaps = rng.random((n, m)) < data.draw(st.sampled_from([0.0, 0.1, 0.3]))
    close[gaps] = np.nan
    opn = close * (1 + rng.normal(0, 0.005, (n, m)))
    fields = {
        "open": opn,
        "high": np.fmax(opn, close) * 1.01,
        "low": np.fmin(opn, close) * 0.99,
        "close": close,
        "volume": np.full((n, m), 1e5),
    }
    ts = 1_600_000_000_000_000_000 + 86_400_000_000_000 * np.arange(n, dtype=np.int64)
    panel = Panel(ts, tuple(f"S{i}" for i in range(m)), fields)
    flat = np.where(rng.random((n, m)) < 0.15, rng.choice([-1.0, 0.0, 1.0], (n, m)), np.nan)
    conf = rng.random((n, m)) if data.draw(st.booleans()) else None
    cash = data.draw(st.sampled_from([500.0, 100_000.0]))
    cfg = _cfg("sma_cross", {}, initial_cash=cash, execution={"allow_short": True})
    results = []
    for skip in (True, False):
        feed = PanelFeed(panel)
        engine = build_engine(cfg, cfg.strategies[0], feed)
        engine.strategy = _Scripted(flat, conf)
        engine.skip_quiet_bars = engine.reveal_signals = skip
        results.append(engine.run(feed))
    _same(*results)
