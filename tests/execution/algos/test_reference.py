"""The algorithms against their reference definitions, computed independently here with
numpy: TWAP's linear schedule, VWAP's causal past-session profile, POV's realised
participation, the Almgren-Chriss trajectory and the execution-quality figures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from alphapulse.analytics.execution_quality import COSTS, execution_frame
from alphapulse.execution.algos import book
from alphapulse.execution.algos.schedules import KAPPA_BOUNDS, is_fraction, kappa_t
from alphapulse.model.orders import Fill, Side
from alphapulse.model.signals import OrderRequest
from tests.execution.algos.harness import FREE, MIN, Scripted, buy, children, minute_panel, run

UNCAPPED = {"max_participation": 1.0, "passive": False}


@pytest.fixture(params=["compiled", "python"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both child-sizing paths: the compiled pass and the Python reference."""
    if request.param == "python":
        monkeypatch.setattr(book.ParentBook, "build", classmethod(lambda cls, *a: None))
    return str(request.param)


def filled_by_bar(r: Any, n: int) -> np.ndarray:
    """Cumulative units filled by the end of each bar ``0..n-1``."""
    per_bar = np.zeros(n)
    for f in r.fills:
        per_bar[f.bar_index] += f.quantity
    return np.cumsum(per_bar)


# -- TWAP -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("qty", "horizon", "every", "lot"),
    [
        (100, 30, 1, 1.0),
        (1000, 7, 3, 10.0),
        (300, 30, 4, 1.0),
        (97, 10, 1, 1.0),
        (50, 8, 3, 2.5),
        (105, 10, 1, 10.0),  # not whole lots: children go in lots, the 5 rest is not sent
        (100.5, 30, 1, 1.0),
        (51, 8, 3, 2.5),
    ],
)
def test_twap_children_follow_the_linear_schedule(
    qty: float, horizon: int, every: int, lot: float, path: str
) -> None:
    """A child every ``every`` bars is the shortfall to ``qty x (elapsed + every) / T`` in
    whole lots; the last one (at the horizon's end) leaves less than a lot, and the parent
    ends ``filled`` with that rest counted unfilled in its record (fill ratio, opportunity
    cost), never sent as a child under one lot."""
    r, _ = run(
        minute_panel(60),
        Scripted(orders={0: [buy(qty, "twap")]}),
        execution={**FREE, "lot_size": lot},
        horizon=f"{horizon}min",
        child_interval=every,
        **UNCAPPED,
    )
    whole = np.floor(qty / lot + 1e-9) * lot
    steps = np.arange(0, horizon, every)  # bars the children are placed at
    target = qty * np.minimum((steps + every) / horizon, 1.0)
    done = np.floor(target / lot + 1e-9) * lot
    want = np.diff(done, prepend=0.0)
    kids = children(r)
    assert [o.quantity for o in kids] == pytest.approx(want[want > 0].tolist(), abs=1e-9)
    assert [(o.created_ns - kids[0].created_ns) // MIN for o in kids] == steps[want > 0].tolist()
    (rec,) = r.executions
    assert (rec["status"], rec["quantity"], rec["filled"]) == ("filled", qty, whole)


# -- VWAP -------------------------------------------------------------------------------
DAY = 30  # bars a day in the VWAP panels


def vwap_panel(today: float = 1.0, future: float = 1.0) -> Any:
    """Five 30-bar days of random volume; today's (day 3) and day 4's scaled."""
    p = minute_panel(DAY, days=5)
    rng = np.random.default_rng(11)
    vol = rng.choice([0.0, 1e5, 3e5, 1e6], (5 * DAY, 1))
    vol[3 * DAY : 4 * DAY] *= today
    vol[4 * DAY :] *= future
    p.fields["volume"][:] = vol
    return p


@pytest.mark.parametrize(
    ("sessions", "decided"), [(2, 3 * DAY + 3), (1, 3 * DAY + 10), (5, 3 * DAY + 20)]
)
def test_vwap_curve_is_the_mean_of_past_sessions_only(
    sessions: int, decided: int, path: str
) -> None:
    """The curve is the cumulative share of the minutes after the decision bar in the
    mean volume of the last ``sessions`` complete days (all three when fewer); scaling
    today's and the next day's volume moves neither the curve nor the children (the cap
    does not bind)."""
    qty, horizon = 1000, 15
    runs = []
    for today, future in ((1.0, 1.0), (7.0, 0.0), (0.0, 3.0)):
        r, engine = run(
            vwap_panel(today, future),
            Scripted(orders={decided: [buy(qty, "vwap")]}),
            algo="vwap",
            horizon=f"{horizon}min",
            profile_sessions=sessions,
            **UNCAPPED,
        )
        (parent,) = engine.algo.parents  # type: ignore[union-attr]
        runs.append(([o.quantity for o in children(r)], parent.curve.copy()))
    vol = vwap_panel().fields["volume"][:, 0].reshape(5, DAY)
    day = decided // DAY
    mean = vol[max(day - sessions, 0) : day].mean(axis=0)
    minute = decided % DAY + 1 + np.arange(horizon)
    w = np.where(minute < DAY, mean[np.minimum(minute, DAY - 1)], 0.0)
    want = np.concatenate(([0.0], np.cumsum(w) / w.sum()))
    for kids, curve in runs:
        np.testing.assert_allclose(curve, want, rtol=0, atol=1e-12)
        assert kids == runs[0][0]
    step = np.diff(np.floor(qty * want[1:] + 1e-9), prepend=0.0)
    assert runs[0][0] == step[step > 0].tolist()


def test_vwap_without_history_is_twap(path: str) -> None:
    """No past session (or no volume at the horizon's minutes in it): TWAP."""
    p = vwap_panel()
    p.fields["volume"][16:DAY] = 0.0  # day 1: no volume after minute 15
    for decided in (5, DAY + 15):
        r, engine = run(
            p,
            Scripted(orders={decided: [buy(300, "vwap")]}),
            algo="vwap",
            horizon="10min",
            **UNCAPPED,
        )
        assert engine.algo.parents[0].curve is None  # type: ignore[union-attr]
        assert [o.quantity for o in children(r)] == [30.0] * 10


# -- POV --------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [0.1, 0.25])
def test_pov_is_the_rate_of_volume_printed_since_the_decision(rate: float, path: str) -> None:
    """Decided at bar 2: the child placed at bar t is ``rate x`` the volume of bars
    3..t less what is done (whole units); what is filled never exceeds ``rate x`` the
    volume printed up to that bar, whatever the expected volume."""
    volume = np.array([9e4, 9e4, 9e4, 100.0, 500.0, 0.0, 2000.0, 30.0, 7.0, 1000.0, 0.0, 0.0])
    p = minute_panel(len(volume))
    p.fields["volume"][:, 0] = volume
    r, _ = run(p, Scripted(orders={2: [buy(10_000, "pov")]}), max_participation=rate)
    printed = np.cumsum(np.where(np.arange(len(volume)) > 2, volume, 0.0))
    done = np.floor(rate * printed + 1e-9)  # wanted by the child placed at each bar
    got = filled_by_bar(r, len(volume))
    np.testing.assert_array_equal(got[3:], done[2:-1])  # placed at t, filled at t + 1
    assert np.all(got <= rate * printed + 1e-9)


# -- Almgren-Chriss ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("urgency", "sigma", "bars"),
    [("low", 0.001, 30), ("medium", 0.002, 360), ("high", 0.0005, 60), ("medium", 0.03, 1)],
)
def test_kappa_t_is_the_documented_formula(urgency: str, sigma: float, bars: float) -> None:
    """``k = s_urgency x sigma x sqrt(bars) / 1%`` (s = 0.5, 1.5, 4), clipped to [0.001, 20]."""
    s = {"low": 0.5, "medium": 1.5, "high": 4.0}[urgency]
    want = np.clip(s * sigma * np.sqrt(bars) / 0.01, 0.001, 20.0)
    assert kappa_t(urgency, sigma, bars) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kappa", [0.05, 0.5, 2.0, 7.5])
@pytest.mark.parametrize("horizon", [1.0, 6.5])
def test_is_fraction_is_the_almgren_chriss_trajectory(kappa: float, horizon: float) -> None:
    """Remaining ``x(t)/X = sinh(kappa (T - t)) / sinh(kappa T)``: the done fraction at
    ``t = f T`` with ``kappa_t = kappa T``."""
    t = np.linspace(0.0, horizon, 41)
    remaining = np.sinh(kappa * (horizon - t)) / np.sinh(kappa * horizon)
    got = [is_fraction(x / horizon, kappa * horizon) for x in t]
    np.testing.assert_allclose(got, 1.0 - remaining, rtol=0, atol=1e-12)


def test_is_fraction_tends_to_twap_and_high_urgency_front_loads() -> None:
    f = np.linspace(0.0, 1.0, 21)
    small = np.array([is_fraction(x, KAPPA_BOUNDS[0]) for x in f])
    np.testing.assert_allclose(small, f, atol=KAPPA_BOUNDS[0] ** 2)  # error O(k^2)
    by = {u: np.array([is_fraction(x, kappa_t(u, 0.002, 60)) for x in f]) for u in ("low", "high")}
    assert np.all(by["high"][1:-1] > by["low"][1:-1]) and np.all(by["low"][1:-1] > f[1:-1])


def test_is_parent_kappa_from_the_measured_volatility(path: str) -> None:
    """In the engine: ``kappa_t`` from the EWMA (span 30) of squared log returns up to the
    decision bar and the horizon's bars; children follow the trajectory."""
    p = minute_panel(80)
    rng = np.random.default_rng(5)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.003, 80)))
    for k in ("open", "high", "low", "close"):
        p.fields[k][:, 0] = close
    decided, horizon, qty = 20, 30, 3000
    r, engine = run(
        p,
        Scripted(orders={decided: [buy(qty, "is")]}),
        algo="is",
        urgency="high",
        horizon=f"{horizon}min",
        **UNCAPPED,
    )
    r2 = np.log(close[1 : decided + 1] / close[:decided]) ** 2
    var, alpha = r2[0], 2.0 / 31.0
    for x in r2[1:]:
        var = alpha * x + (1 - alpha) * var
    kt = float(np.clip(4.0 * np.sqrt(var) * np.sqrt(horizon) / 0.01, 1e-3, 20.0))
    (parent,) = engine.algo.parents  # type: ignore[union-attr]
    assert parent.kappa_t == pytest.approx(kt, rel=1e-12)
    f = np.arange(1, horizon + 1) / horizon
    done = np.floor(qty * (1 - np.sinh(kt * (1 - f)) / np.sinh(kt)) + 1e-9)
    got = filled_by_bar(r, 80)
    np.testing.assert_array_equal(got[decided + 1 : decided + horizon + 1], done)


# -- execution quality ------------------------------------------------------------------
def _fill(oid: int, side: Side, q: float, px: float, ref: float, fee: float, liq: str) -> Fill:
    slip = float(side) * (px - ref) * q
    return Fill(oid, "AAA", 0, side, q, px, fee, 0, 0, liquidity=liq, slippage=slip)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_cost_split_sums_to_perolds_shortfall(side: Side) -> None:
    """A parent of 100 filled 30 + 25 (taker, maker) then cancelled: the five legs are
    the hand figures and sum exactly to Perold's shortfall."""
    s, a, end, h = float(side), 50.0, 51.0 if side > 0 else 49.0, 0.0005  # 10 bps spread
    fills = [
        _fill(7, side, 30.0, a + s * 0.2, a + s * 0.1, 0.9, "taker"),
        _fill(8, side, 25.0, a + s * 0.3, a + s * 0.3, 0.25, "maker"),
    ]
    avg = (30 * (a + s * 0.2) + 25 * (a + s * 0.3)) / 55
    record = {
        "parent_id": 6, "sid": 0, "symbol": "AAA", "side": int(side), "algo": "is",
        "urgency": "low", "quantity": 100.0, "filled": 55.0, "decision_ns": 0,
        "end_ns": 300 * 10**9, "arrival_price": a, "avg_price": avg, "end_price": end,
        "interval_vwap": a + s * 0.25, "interval_volume": 550.0, "status": "cancelled",
        "reason": "", "children": [7, 8], "spread_bps": 10.0,
    }  # fmt: skip
    row = execution_frame([record], fills).iloc[0]
    taker_slip = 0.1 * 30
    want = {
        "fees": 1.15,
        "spread_cost": min(taker_slip, h * (a + s * 0.1) * 30),
        "impact_cost": taker_slip - min(taker_slip, h * (a + s * 0.1) * 30),
        "timing_cost": 0.1 * 30 + 0.3 * 25,
        "opportunity_cost": 1.0 * 45,
    }
    for col, v in want.items():
        assert row[col] == pytest.approx(v, rel=1e-12), col
    perold = s * (avg - a) * 55 + 1.15 + s * (end - a) * 45  # paper vs real portfolio
    assert row["shortfall"] == pytest.approx(perold, rel=1e-12)
    assert row["shortfall"] == sum(row[c] for c in COSTS[:-1])
    assert row["shortfall_bps"] == pytest.approx(perold / (a * 100) * 1e4, rel=1e-12)
    assert row["slippage_bps"] == pytest.approx((s * (avg - a)) / a * 1e4, rel=1e-12)
    assert row["slippage_bps"] > 0 and row["vwap_slippage_bps"] < 0  # paid more than arrival
    assert (row["participation"], row["fill_ratio"], row["duration_s"]) == (0.1, 0.55, 300.0)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_quality_of_an_engine_parent_against_its_bars_and_fills(side: Side) -> None:
    """Decided at bar 5 on a ramp, capped by the venue (10% of each bar), ended by a new
    order at bar 12: arrival is bar 5's close, the interval bars 6..12, and the split
    sums to Perold's shortfall from the fills."""
    n = 30
    p = minute_panel(n)
    close = 100.0 + 0.25 * np.arange(n)
    vol = 1000.0 + 100.0 * np.arange(n)
    for k in ("open", "high", "low", "close"):
        p.fields[k][:, 0] = close
    p.fields["volume"][:, 0] = vol
    ex = {
        "commission": {"model": "per_share", "per_share": 0.01, "minimum": 0.0},
        "max_participation": 0.1,
    }
    ex |= {"allow_short": True, "slippage": {"model": "half_spread", "spread_bps": 20}}
    first = OrderRequest(0, side, 2000, tag="algo:twap")
    r, _ = run(
        p,
        Scripted(orders={5: [first], 12: [OrderRequest(0, side, 10, tag="algo:twap")]}),
        execution=ex,
        cash=1e7,
        horizon="10min",
        algo="twap",
        **UNCAPPED,
    )
    rec = r.executions[0]
    kids = set(rec["children"])
    fills = [f for f in r.fills if f.order_id in kids]
    s, q = float(side), sum(f.quantity for f in fills)
    avg = sum(f.quantity * f.price for f in fills) / q
    assert (rec["status"], rec["arrival_price"], rec["end_price"]) == ("replaced", 101.25, 103.0)
    assert 0 < q < 2000 and rec["filled"] == q
    bars = slice(6, 13)
    assert rec["interval_volume"] == vol[bars].sum()
    assert rec["interval_vwap"] == pytest.approx((vol * close)[bars].sum() / vol[bars].sum())
    row = execution_frame(r.executions, r.fills).iloc[0]
    fees = sum(f.fee for f in fills)
    perold = s * (avg - 101.25) * q + fees + s * (103.0 - 101.25) * (2000 - q)
    assert row["shortfall"] == pytest.approx(perold, rel=1e-12)
    assert row["slippage_bps"] == pytest.approx(s * (avg - 101.25) / 101.25 * 1e4, rel=1e-12)
    assert row["participation"] == pytest.approx(q / vol[bars].sum(), rel=1e-12)
    assert row["duration_s"] == 7 * 60 and row["fill_ratio"] == q / 2000
    assert math.isclose(row["spread_cost"], sum(f.slippage for f in fills), rel_tol=1e-12)
