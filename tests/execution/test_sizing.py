"""Sizing helpers: lot rounding, fixed fraction, and the all-in affordability bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.execution.commissions import (
    Commission,
    MakerTakerCommission,
    NoCommission,
    PercentCommission,
    PerShareCommission,
)
from alphapulse.execution.sizing import (
    _round_decimals,
    all_in,
    fixed_fraction,
    lot_quantity,
    round_to_lot,
)


@pytest.mark.parametrize(
    ("qty", "lot", "want"),
    [
        (10.9, 1.0, 10.0),
        (-10.9, 1.0, -10.0),
        (0.3, 0.1, 0.3),  # 0.3 / 0.1 = 2.9999999999999996 in floats
        (1.234567891, 1e-8, 1.23456789),
        (7.0, 5.0, 5.0),
        (0.99, 1.0, 0.0),
        (float("nan"), 1.0, 0.0),
    ],
)
def test_round_to_lot(qty: float, lot: float, want: float) -> None:
    assert round_to_lot(qty, lot) == want


def test_fixed_fraction() -> None:
    assert fixed_fraction(100_000.0, 0.25, 33.0) == 757.0  # 25_000 / 33 = 757.6
    assert fixed_fraction(100_000.0, -0.25, 33.0) == -757.0
    assert fixed_fraction(1_000.0, 0.5, 300.0, lot_size=0.01) == 1.66
    assert fixed_fraction(1_000.0, 0.5, 0.0) == 0.0


@pytest.mark.parametrize(
    ("budget", "price", "commission", "lot", "want"),
    [
        (10_000.0, 100.0, NoCommission(), 1.0, 100.0),  # exactly the budget
        (10_000.0, 100.0, PercentCommission(0.001), 1.0, 99.0),
        (1_000.0, 10.0, PerShareCommission(0.005, 1.0, None), 1.0, 99.0),  # $1 minimum
        (1_001.0, 10.0, PerShareCommission(0.005, 1.0, None), 1.0, 100.0),  # min fits
        (1.5, 1.0, PerShareCommission(0.005, 1.0, None), 1.0, 0.0),  # 1 + $1 > 1.5
        (1_000.0, 100.0, PercentCommission(0.001), 0.001, 9.99),
        (99.0, 100.0, NoCommission(), 1.0, 0.0),
        (0.0, 100.0, NoCommission(), 1.0, 0.0),
        (-5.0, 100.0, NoCommission(), 1.0, 0.0),
    ],
)
def test_all_in_examples(
    budget: float, price: float, commission: Commission, lot: float, want: float
) -> None:
    assert all_in(budget, price, commission, lot) == want


def test_all_in_uses_liquidity() -> None:
    model = MakerTakerCommission(maker_bps=0.0, taker_bps=100.0)
    assert all_in(1_000.0, 10.0, model, liquidity="maker") == 100.0
    assert all_in(1_000.0, 10.0, model, liquidity="taker") == 99.0  # 99 x 10.1 = 999.9


commissions = st.one_of(
    st.just(NoCommission()),
    st.floats(0.0, 0.05).map(PercentCommission),
    st.builds(
        PerShareCommission,
        st.floats(0.0, 0.05),
        st.floats(0.0, 25.0),
        st.one_of(st.none(), st.floats(0.0, 0.05)),
    ),
    st.builds(MakerTakerCommission, st.floats(0.0, 50.0), st.floats(0.0, 50.0)),
)


@settings(max_examples=400, deadline=None)
@given(
    budget=st.floats(0.0, 1e8),
    price=st.floats(1e-4, 1e5),
    commission=commissions,
    lot=st.sampled_from([1.0, 0.5, 0.01, 1e-4, 1e-8, 100.0]),
)
def test_all_in_is_the_largest_affordable_lot_multiple(
    budget: float, price: float, commission: Commission, lot: float
) -> None:
    q = all_in(budget, price, commission, lot)
    assert q >= 0.0
    assert q / lot == pytest.approx(round(q / lot), rel=1e-12, abs=1e-6)  # a whole number of lots
    assert q * price + commission.fee(q, price, "taker") <= budget  # never over budget
    more = q + lot
    assert more * price + commission.fee(more, price, "taker") > budget * (
        1 - 1e-12
    )  # float noise only


@settings(max_examples=2000, deadline=None)
@given(
    lots=st.one_of(st.integers(0, 10**7), st.integers(0, 2**53)),
    lot=st.sampled_from([0.5, 0.1, 0.01, 0.001, 1e-4, 1e-8, 0.25, 0.3, 0.07, 1e-12, 100.0]),
)
def test_compiled_lot_rounding_is_pythons_round(lots: int, lot: float) -> None:
    # the compiled lot arithmetic must give what Python's round gave before it
    decimals = max(0, -math.floor(math.log10(lot))) + 6
    assert lot_quantity(lots, lot) == round(lots * lot, decimals)


@pytest.mark.parametrize(("x", "n"), [(0.5, 0), (1.5, 0), (2.5, 0), (2.675, 2), (0.125, 2)])
def test_round_ties_go_to_even_as_in_python(x: float, n: int) -> None:
    assert _round_decimals(x, n) == round(x, n)


def test_all_in_beyond_int64_lots_stays_within_budget() -> None:
    # 9.2e18 lots of 1e-8 at a price of 1e-4 (Python's ints had no bound here)
    q = all_in(9_223_373.0, 1e-4, NoCommission(), 1e-8)
    assert q * 1e-4 <= 9_223_373.0
    assert (q + 1e-8) * 1e-4 > 9_223_373.0 * (1 - 1e-12)
