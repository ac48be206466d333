"""The per-symbol market state the algorithms size children from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapulse.execution.algos.state import SPAN, MarketState

ALPHA = 2.0 / (SPAN + 1.0)


def bar(state: MarketState, volume: float, close: float = 100.0) -> None:
    one = np.array
    state.update(one([close]), one([close + 0.5]), one([close - 0.5]), one([volume]))


def test_expected_volume_counts_quiet_bars_and_skips_unknown_ones() -> None:
    """A bar with no trades lowers the expected volume (an illiquid stretch shrinks the
    participation cap); a bar with no volume figure (NaN) leaves it as it was."""
    s = MarketState(1)
    assert math.isnan(s.volume(0))  # nothing seen: no cap known
    bar(s, 1000.0)
    bar(s, 0.0)
    assert s.volume(0) == pytest.approx((1 - ALPHA) * 1000.0)
    bar(s, math.nan)
    assert s.volume(0) == pytest.approx((1 - ALPHA) * 1000.0)
    assert s.cum(0) == (1000.0, 1000.0 * 100.0)
