"""Probes of the hybrid's fusion on a synthetic market: the stacking meta-model refitted
on the cutoff bar sees no label that ends later, the same input gives the same run, and
the edge cases of the conflict rule (a silent expert, every expert abstaining, a single
expert) trade as the rule says."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import Tables, run_backtest
from alphapulse.fusion.stacking import StackingFuser
from alphapulse.ml.leakage import perturb_after

SYMBOLS = ("S0", "S1", "S2", "S3")
EXPERTS = [
    {"strategy": "sma_cross", "name": "trend", "params": {"fast": 5, "slow": 20}},
    {"strategy": "mean_reversion", "name": "revert", "params": {"window": 10, "entry_z": 1.0}},
    {"strategy": "momentum", "name": "mom", "params": {"lookback": 20, "rebalance_every": 5}},
]
# never speaks: its lookback is longer than the data
SILENT = {"strategy": "momentum", "name": "silent", "params": {"lookback": 5000}}
STACKING = {"horizon": 5, "min_train": 100, "refit_every": 40}


def _panel(drift: float, n: int = 320, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2015-01-01", periods=n, freq="B", tz="UTC").as_unit("ns").asi8
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.015, (n, len(SYMBOLS))), axis=0))
    opn = close * np.exp(rng.normal(0.0, 0.003, close.shape))
    fields = {
        "open": opn,
        "high": np.maximum(opn, close) * 1.002,
        "low": np.minimum(opn, close) * 0.998,
        "close": close,
        "volume": np.full(close.shape, 1e6),
    }
    return Panel(ts, SYMBOLS, fields)


def _run(panel: Panel, strategy: dict[str, Any]) -> tuple[RunResult, Tables]:
    raw = {"data": {"source": "x", "symbols": list(SYMBOLS)}, "strategies": [strategy]}
    tables: dict[str, Tables] = {}
    results = run_backtest(parse_config(raw), panel, workers=1, tables=tables)
    return next(iter(results.values())), next(iter(tables.values()), {})


def _hybrid(**params: Any) -> dict[str, Any]:
    return {"strategy": "hybrid", "params": {"experts": EXPERTS, **params}}


def _orders(r: RunResult, until: int | None = None) -> list[tuple[Any, ...]]:
    """The run's decisions (orders created up to ``until``; None: all)."""
    return [
        (o.id, o.sid, o.side, o.quantity, o.notional, o.created_ns, o.tag)
        for o in r.orders
        if until is None or o.created_ns <= until
    ]


class _Recorder:
    """Every stacking decision (time, direction, confidence) and every fuser made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.fusers: list[StackingFuser] = []
        fuse, init = StackingFuser.fuse, StackingFuser.__init__

        def recorded_fuse(s: StackingFuser, ts_ns: int, dirs: np.ndarray) -> Any:
            d, conf = fuse(s, ts_ns, dirs)
            self.calls.append((ts_ns, d.copy(), conf.copy()))
            return d, conf

        def recorded_init(s: StackingFuser, *a: Any, **k: Any) -> None:
            init(s, *a, **k)
            self.fusers.append(s)

        monkeypatch.setattr(StackingFuser, "fuse", recorded_fuse)
        monkeypatch.setattr(StackingFuser, "__init__", recorded_init)

    def take(self) -> tuple[list[tuple[int, np.ndarray, np.ndarray]], StackingFuser]:
        calls, fuser = self.calls, self.fusers[-1]
        self.calls = []
        return calls, fuser


def test_stacking_refit_on_the_cutoff_bar_ignores_later_labels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The meta-model refits at bar 179 (min_train 100 + 2 x 40): its newest training
    row's label ends exactly there. Rescaling every bar after it (the labels of every
    later row) moves no fit and no prediction up to it; the same input twice gives the
    same run, bit for bit."""
    cut = 179
    panel = _panel(0.0)
    rec = _Recorder(monkeypatch)
    strategy = _hybrid(fuser="stacking", stacking=STACKING)
    runs = []
    for p in (panel, panel, perturb_after(panel, cut, seed=3)):
        r, tables = _run(p, strategy)
        runs.append((r, tables, *rec.take()))
    (base, tb, calls, fuser), (again, ta, calls2, fuser2), (moved, tm, calls_m, fuser_m) = runs
    assert [f["t"] for f in fuser.fits][:3] == [99.0, 139.0, 179.0]
    # determinism: the whole run
    assert _orders(base) == _orders(again) and base.fills == again.fills
    np.testing.assert_array_equal(base.equity, again.equity)
    pd.testing.assert_frame_equal(tb["fusion_weights"], ta["fusion_weights"])
    assert fuser.fits == fuser2.fits and len(calls) == len(calls2)
    for (t1, d1, c1), (t2, d2, c2) in zip(calls, calls2, strict=True):
        assert t1 == t2
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(c1, c2)
    # no look-ahead: fits and predictions up to the cutoff
    ts = int(panel.timestamps[cut])
    upto = [f for f in fuser.fits if f["t"] <= cut]
    assert upto == [f for f in fuser_m.fits if f["t"] <= cut]
    early = [c for c in calls if c[0] <= ts]
    assert len(early) == cut + 1
    for (t1, d1, c1), (t2, d2, c2) in zip(early, calls_m[: len(early)], strict=True):
        assert t1 == t2
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(c1, c2)
    assert _orders(base, ts) == _orders(moved, ts)
    np.testing.assert_array_equal(base.equity[: cut + 1], moved.equity[: cut + 1])
    pd.testing.assert_frame_equal(tb["fusion_weights"][: cut + 1], tm["fusion_weights"][: cut + 1])
    # the perturbation reaches the labels: a later fit or prediction moves
    later = [(c, m) for c, m in zip(calls, calls_m, strict=True) if c[0] > ts]
    assert fuser.fits != fuser_m.fits or any(
        not np.array_equal(c[2], m[2], equal_nan=True) for c, m in later
    )


def test_stacking_without_any_expert_view_does_not_trade() -> None:
    """A rising market, and experts that never speak or a rule that weights none: the
    meta-model's intercept alone is no view (it used to buy every symbol)."""
    panel = _panel(0.004)
    for strategy in (
        _hybrid(experts=[SILENT], fuser="stacking", stacking=STACKING),
        _hybrid(fuser="stacking", stacking=STACKING, default={"weights": {}}),
    ):
        r, tables = _run(panel, strategy)
        assert len(tables["fusion_weights"]) == panel.n_bars  # it decided at every bar
        assert r.orders == [] and r.fills == []


@pytest.mark.parametrize("fuser", ["vote", "confidence", "risk_budget"])
def test_a_single_expert_trades_as_that_expert_and_a_silent_one_changes_nothing(
    fuser: str,
) -> None:
    """One expert: the fused view is its view and the hybrid's sizing is EqualSlot's, so
    the run is the expert's own; an expert that never speaks abstains everywhere."""
    panel = _panel(0.0)
    alone, _ = _run(panel, EXPERTS[0])
    assert alone.fills
    for experts in ([EXPERTS[0]], [EXPERTS[0], SILENT]):
        r, _ = _run(panel, _hybrid(experts=experts, fuser=fuser, threshold=0.0))
        assert _orders(r) == _orders(alone)
        np.testing.assert_array_equal(r.equity, alone.equity)
