"""Execution-quality figures on a hand-computed parent."""

from __future__ import annotations

import pytest

from alphapulse.analytics.execution_quality import execution_frame, execution_summary
from alphapulse.model.orders import Fill, Side

RECORD = {
    "parent_id": 1, "sid": 0, "symbol": "AAA", "side": 1, "algo": "twap", "urgency": "medium",
    "quantity": 100.0, "filled": 80.0, "decision_ns": 0, "end_ns": 120 * 10**9,
    "arrival_price": 100.0, "avg_price": (50 * 101 + 30 * 99) / 80, "end_price": 102.0,
    "interval_vwap": 100.0, "interval_volume": 800.0, "status": "session_end", "reason": "",
    "children": [2, 3], "spread_bps": 20.0,
}  # fmt: skip


def _fill(oid: int, q: float, px: float, fee: float, slip: float, liq: str) -> Fill:
    return Fill(oid, "AAA", 0, Side.BUY, q, px, fee, 0, 0, liquidity=liq, slippage=slip)


FILLS = [
    _fill(2, 50, 101.0, 1.0, 25.0, "taker"),  # reference 100.5
    _fill(3, 30, 99.0, 0.5, 0.0, "maker"),
    _fill(99, 10, 50.0, 9.0, 9.0, "taker"),  # not a child: ignored
]


@pytest.mark.parametrize(
    ("column", "want"),
    [
        ("fees", 1.5),
        ("spread_cost", 0.001 * 100.5 * 50),  # half of 20 bps of the reference
        ("impact_cost", 25.0 - 0.001 * 100.5 * 50),
        ("timing_cost", 0.5 * 50 - 1.0 * 30),
        ("opportunity_cost", 2.0 * 20),
        ("shortfall", 61.5),  # = (8020 - 8000) + fees + opportunity
        ("shortfall_bps", 61.5),  # of 100 x 100
        ("slippage_bps", 25.0),  # average 100.25 against 100
        ("vwap_slippage_bps", 25.0),
        ("participation", 0.1),
        ("fill_ratio", 0.8),
        ("duration_s", 120.0),
        ("n_children", 2),
    ],
)
def test_parent_figures(column: str, want: float) -> None:
    row = execution_frame([RECORD], FILLS).iloc[0]
    assert row[column] == pytest.approx(want)


def test_summary_weights_by_notional_and_splits_by_algo() -> None:
    other = {**RECORD, "parent_id": 5, "algo": "vwap", "children": [], "filled": 0.0}
    other.update(avg_price=float("nan"), end_price=100.0)
    s = execution_summary(execution_frame([RECORD, other], FILLS))
    assert s["n_parents"] == 2 and s["fill_ratio"] == pytest.approx(80 / 200)
    assert s["shortfall_bps"] == pytest.approx(61.5 / 2)
    assert s["slippage_bps"] == pytest.approx(25.0)  # the unfilled parent has no weight
    assert set(s["by_algo"]) == {"twap", "vwap"}
    assert s["by_algo"]["vwap"]["shortfall"] == 0.0


def test_empty() -> None:
    assert execution_summary(execution_frame([], [])) == {"n_parents": 0}
