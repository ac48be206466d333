"""The compiled path must equal the event engine, bit for bit: every order (id, side,
quantity, notional, status, fills, average price, reason, tag), every fill, and the
per-step equity, cash and exposure arrays, for every built-in strategy on real data
(one symbol and a cross-section whose symbols start late) and on gapped synthetic data
with small accounts. Unsupported configurations are refused with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_strategy
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy
from alphapulse.sweep.compiled import run_compiled, run_compiled_backtest
from tests.engine.run_compare import assert_same_accounts

SP500 = "sp500_daily_2013_2018"
CROSS = ["AAPL", "XOM", "JPM", "FTV", "DWDP", "HLT", "O", "VRTX", "APTV", "NVDA"]
CASES: list[tuple[str, dict[str, Any], bool]] = [  # strategy, params, allow_short
    ("sma_cross", {"fast": 10, "slow": 30}, False),
    ("mean_reversion", {"window": 20, "entry_z": 1.5, "exit_z": 0.0, "short": True}, False),
    ("mean_reversion", {"window": 10, "entry_z": 1.0, "exit_z": -0.5, "short": True}, True),
    ("momentum", {"lookback": 60, "rebalance_every": 5, "short": True}, True),
    ("buy_and_hold", {}, False),
]


def _cfg(
    strategy: str, params: dict[str, Any], allow_short: bool = False, **over: Any
) -> BacktestConfig:
    base: dict[str, Any] = {
        "data": {"source": "in-memory"},
        "initial_cash": 1_000_000.0,
        "execution": {
            "commission": {"model": "percent", "rate": 0.0005},
            "slippage": {"model": "fixed_bps", "bps": 2.0},
            "allow_short": allow_short,
        },
        "strategies": [{"strategy": strategy, "params": params}],
    }
    base.update(over)
    return parse_config(base)


def _orders(r: RunResult) -> list[tuple[object, ...]]:
    return [
        (
            o.id,
            o.symbol,
            o.side,
            o.quantity,
            o.notional,
            o.created_ns,
            o.status,
            o.filled_qty,
            o.avg_fill_price,
            o.reason,
            o.tag,
            o.type,
            o.tif,
            o.eligible_ns,
        )
        for o in r.orders
    ]


def _fills(r: RunResult) -> list[tuple[object, ...]]:
    return [
        (
            f.order_id,
            f.symbol,
            f.side,
            f.quantity,
            f.price,
            f.fee,
            f.ts_ns,
            f.bar_index,
            f.slippage,
            f.tag,
            f.liquidity,
        )
        for f in r.fills
    ]


def assert_identical(ref: RunResult, ours: RunResult) -> None:
    assert _orders(ours) == _orders(ref)
    assert _fills(ours) == _fills(ref)
    assert_same_accounts(ref, ours)
    assert (ours.name, ours.symbols, ours.initial_cash) == (ref.name, ref.symbols, ref.initial_cash)
    assert ours.risk_events == ref.risk_events == []


def _both(cfg: BacktestConfig, panel: Panel) -> tuple[RunResult, RunResult]:
    return run_strategy(cfg, cfg.strategies[0], panel), run_compiled(cfg, cfg.strategies[0], panel)


@pytest.fixture(scope="module")
def panels(shared_data: Path) -> dict[str, Panel]:
    return {
        "one": load_panel(SP500, ["JPM"], root=shared_data),
        "cross": load_panel(SP500, CROSS, root=shared_data, start="2015-06-01"),
    }


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("universe", ["one", "cross"])
def test_compiled_equals_event_engine(panels: dict[str, Panel], universe: str, case: int) -> None:
    strategy, params, short = CASES[case]
    cfg = _cfg(strategy, params, short)
    ref, ours = _both(cfg, panels[universe])
    assert len(ref.fills) >= (1 if strategy == "buy_and_hold" else 20)
    assert_identical(ref, ours)


def test_costs_off_and_rejections(panels: dict[str, Panel]) -> None:
    """No costs; a long/short mean reversion without shorting (sells refused: no_short)
    and a tiny account (buys refused: insufficient_cash)."""
    free = {"commission": {"model": "none"}, "slippage": {"model": "none"}}
    reasons: set[str] = set()
    for cash in (1_000_000.0, 300.0):
        cfg = _cfg(
            "mean_reversion",
            {"window": 10, "entry_z": 1.0, "exit_z": 0.0, "short": True},
            execution=free,
            initial_cash=cash,
        )
        ref, ours = _both(cfg, panels["cross"])
        assert_identical(ref, ours)
        reasons |= {o.reason for o in ref.orders}
    assert {"no_short", "insufficient_cash", "replaced"} <= reasons


def _gapped(seed: int, n: int = 250, m: int = 4) -> Panel:
    """A tick-rounded random walk per symbol with rows without any bar, rows without an
    open and a symbol that starts late."""
    rng = np.random.default_rng(seed)
    close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.05, (n, m)), axis=0)), 2)
    open_ = np.round(np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0, 0.01, (n, m))), 2)
    fields = {
        "open": open_,
        "high": np.maximum(open_, close) + 0.01,
        "low": np.minimum(open_, close) - 0.01,
        "close": close,
        "volume": np.full((n, m), 1e5),
    }
    gaps = rng.random((n, m)) < 0.1
    gaps[:40, -1] = True
    for k, v in fields.items():
        v[gaps] = np.nan
        if k == "open":
            v[rng.random((n, m)) < 0.05] = np.nan
    ts = (np.arange(n, dtype=np.int64) + 19_000) * 86_400 * 1_000_000_000
    return Panel(ts, tuple(f"S{j}" for j in range(m)), fields)


@pytest.mark.parametrize("seed", [1, 2])
def test_gapped_synthetic_small_accounts(seed: int) -> None:
    panel = _gapped(seed)
    for cash in (100_000.0, 150.0):
        for strategy, params, short in [
            ("sma_cross", {"fast": 2, "slow": 5}, False),
            ("mean_reversion", {"window": 5, "entry_z": 0.5, "exit_z": 0.0, "short": True}, True),
        ]:
            cfg = _cfg(strategy, params, short, initial_cash=cash)
            ref, ours = _both(cfg, panel)
            assert len(ref.fills) >= 2
            assert_identical(ref, ours)


class _NoVector(Strategy):
    def on_bar(self, ctx: Context) -> Signals:
        return Signals.hold(ctx.n_symbols)


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"fill_at": "close"}, "fill_at"),
        ({"portfolio": {"method": "vol_target"}}, "portfolio"),
        ({"risk": {}}, "risk"),
        ({"execution": {"commission": {"model": "per_share"}}}, "execution.commission.model"),
        ({"execution": {"slippage": {"model": "half_spread"}}}, "execution.slippage.model"),
        ({"execution": {"max_participation": 0.05}}, "max_participation"),
        ({"execution": {"latency_ns": 5}}, "latency_ns"),
        ({"execution": {"lot_size": 10}}, "lot_size"),
        (
            {"strategies": [{"strategy": "tests.sweep.test_compiled:_NoVector", "name": "nv"}]},
            "strategy 'nv' declares no vectorised signals",
        ),
        (
            {
                "strategies": [
                    {"strategy": "buy_and_hold"},
                    {"strategy": "sma_cross", "execution": {"algo": "twap"}},
                ]
            },
            "strategy 'sma_cross': execution: (execution algorithms) unsupported",
        ),
    ],
)
def test_unsupported_configs_are_refused(
    panels: dict[str, Panel], over: dict[str, Any], needle: str
) -> None:
    cfg = _cfg("sma_cross", {}, **over)
    with pytest.raises(ConfigError, match="compiled engine: ") as err:
        run_compiled_backtest(cfg, panels["one"])
    msg = str(err.value)
    assert needle in msg
    assert "\n" not in msg


_YAML = """
name: compiled-cli
data: {source: sp500_daily_2013_2018, symbols: [AAPL, KO, FTV], start: "2015-01-01"}
initial_cash: 100000
anomalies: {}
strategies:
  - {strategy: sma_cross, name: sma, params: {fast: 5, slow: 20}}
  - {strategy: mean_reversion, name: mr}
"""


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cli_compiled_writes_the_same_outputs(tmp_path: Path, shared_data: Path) -> None:
    """``--compiled`` writes the event engine's files; with ``engine: compiled`` an
    unsupported config stops with one line and exit code 2."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(_YAML)
    for name, extra in (("event", []), ("flag", ["--compiled"])):
        out = ["--out", str(tmp_path / name), "--no-record"]
        res = _cli(["backtest", str(cfg), *extra, *out], tmp_path)
        assert res.returncode == 0, res.stderr
    for label in ("sma", "mr"):
        files = ("fills.csv", "orders.csv", "equity.csv", "trades.csv", "summary.json")
        for f in (*files, "anomalies.csv"):  # the anomaly scan too, whichever engine
            ref = (tmp_path / "event" / label / f).read_text()
            assert len(ref) > 100
            assert (tmp_path / "flag" / label / f).read_text() == ref, (label, f)
    (tmp_path / "bad.yaml").write_text(_YAML + "engine: compiled\nfill_at: close\n")
    res = _cli(["backtest", str(tmp_path / "bad.yaml"), "--no-record"], tmp_path)
    assert res.returncode == 2
    assert "compiled engine: fill_at 'close' unsupported" in res.stderr
    assert "Traceback" not in res.stderr
