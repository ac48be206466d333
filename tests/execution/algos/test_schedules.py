"""Schedule functions: table-driven values and invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphapulse.execution.algos.schedules import (
    KAPPA_BOUNDS,
    is_fraction,
    kappa_t,
    pov_target,
    twap_fraction,
    vwap_curve,
    vwap_fraction,
)


@pytest.mark.parametrize(
    ("f", "want"), [(-0.5, 0.0), (0.0, 0.0), (0.25, 0.25), (1.0, 1.0), (3.0, 1.0)]
)
def test_twap_is_linear_and_clipped(f: float, want: float) -> None:
    assert twap_fraction(f) == want


@pytest.mark.parametrize(
    ("f", "k", "want"),
    [
        (0.5, 0.0, 0.5),  # k -> 0 is TWAP
        (0.5, 1e-9, 0.5),
        (0.5, 2.0, 1 - math.sinh(1.0) / math.sinh(2.0)),
        (0.25, 5.0, 1 - math.sinh(3.75) / math.sinh(5.0)),
        (0.0, 5.0, 0.0),
        (1.0, 5.0, 1.0),
    ],
)
def test_is_fraction_values(f: float, k: float, want: float) -> None:
    assert is_fraction(f, k) == pytest.approx(want, abs=1e-12)


@given(st.floats(0, 1), st.floats(0, 1), st.floats(1e-3, 20))
def test_is_schedule_front_loaded_and_monotone(f1: float, f2: float, k: float) -> None:
    lo, hi = sorted((f1, f2))
    assert 0.0 <= is_fraction(lo, k) <= is_fraction(hi, k) + 1e-12 <= 1.0 + 1e-12
    assert is_fraction(lo, k) >= twap_fraction(lo) - 1e-12  # ahead of TWAP


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("low", 0.001, 30), ("medium", 0.001, 30)),
        (("medium", 0.001, 30), ("high", 0.001, 30)),
        (("medium", 0.001, 30), ("medium", 0.003, 30)),  # more volatile: faster
        (("medium", 0.001, 10), ("medium", 0.001, 90)),  # longer horizon: faster
    ],
)
def test_kappa_grows_with_urgency_volatility_horizon(a: tuple, b: tuple) -> None:
    assert kappa_t(*a) < kappa_t(*b)


def test_kappa_bounds_and_unknown_volatility() -> None:
    assert kappa_t("high", 1.0, 1e6) == KAPPA_BOUNDS[1]
    assert kappa_t("low", 1e-12, 1) == KAPPA_BOUNDS[0]
    assert kappa_t("medium", math.nan, 1) == pytest.approx(1.5)
    assert kappa_t("high", 0.0, 30) == KAPPA_BOUNDS[0]  # no volatility: no timing risk


def test_vwap_curve_follows_the_profile() -> None:
    prof = np.zeros(1440)
    prof[600:603] = [1.0, 3.0, 0.0]
    curve = vwap_curve(prof, 600, 3)
    assert curve is not None
    np.testing.assert_allclose(curve, [0.0, 0.25, 1.0, 1.0])
    assert vwap_fraction(curve, 0.5) == pytest.approx(0.625)  # halfway between minutes
    assert vwap_curve(prof, 0, 10) is None  # no volume there: caller falls back to TWAP


def test_vwap_curve_wraps_midnight() -> None:
    prof = np.zeros(1440)
    prof[1439], prof[0] = 1.0, 1.0
    curve = vwap_curve(prof, 1439, 2)
    assert curve is not None
    np.testing.assert_allclose(curve, [0.0, 0.5, 1.0])


@pytest.mark.parametrize(("rate", "vol", "want"), [(0.1, 1000, 100), (0.05, 0, 0), (0.2, -5, 0)])
def test_pov_target(rate: float, vol: float, want: float) -> None:
    assert pov_target(rate, vol) == pytest.approx(want)


@given(
    st.lists(st.floats(0.0, 1e6), min_size=1, max_size=40),
    st.floats(-0.5, 1.5, allow_nan=False),
)
def test_vwap_fraction_is_np_interp(weights: list[float], f: float) -> None:
    """The scalar read of the curve equals numpy's interpolation bit for bit."""
    curve = vwap_curve(np.array(weights), 0, len(weights))
    if curve is None:
        return
    x = min(max(f, 0.0), 1.0) * (len(curve) - 1)
    assert vwap_fraction(curve, f) == float(np.interp(x, np.arange(len(curve)), curve))
