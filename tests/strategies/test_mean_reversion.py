"""Mean reversion on a window of equal prices (a halted name, or missing bars carried
forward): the deviation is zero, so there is no z-score and no signal."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.engine.context import PRICES, Context, History
from alphapulse.strategies.mean_reversion import MeanReversion

# prices whose rounded window sums are not exactly window x price: numpy and the
# kernels gave them a z-score of about +-0.97 (the rounding error over its own size)
HALTED = [101.37, 250.01, 0.1]
WINDOW = 20


def _prices(halt: float) -> np.ndarray:
    """A moving name that then stops at ``halt`` for a whole window, next to one that
    keeps moving."""
    n = 60
    rng = np.random.default_rng(3)
    live = 80 + np.cumsum(rng.normal(0, 1.0, n))
    halted = np.concatenate([halt + np.cumsum(rng.normal(0, 0.5, n - WINDOW)), [halt] * WINDOW])
    return np.column_stack([halted, live])


def _ctx(prices: np.ndarray) -> Context:
    n = len(prices)
    hist = History({"close": prices, PRICES: prices}, np.arange(n, dtype=np.int64))
    hist.advance(n)
    z = np.zeros(2)
    return Context(n - 1, n - 1, ("H", "L"), hist, z, z, prices[-1].copy(), 1e6, 1e6)


@pytest.mark.parametrize("halt", HALTED)
def test_no_signal_over_a_window_of_equal_prices(halt: float) -> None:
    prices = _prices(halt)
    strat = MeanReversion(window=WINDOW, entry_z=0.5, exit_z=0.0, short=True)
    assert np.isnan(strat.on_bar(_ctx(prices)).direction[0])
    vec = strat.vectorized_signals(prices, {})
    assert np.isnan(vec.flat[-1, 0])
    # one tick off the flat line is a real deviation: both paths see it
    moved = prices.copy()
    moved[-1, 0] = halt * 1.01
    assert strat.on_bar(_ctx(moved)).direction[0] == -1.0
    assert strat.vectorized_signals(moved, {}).flat[-1, 0] == -1.0


def test_vectorized_signals_equal_on_bar_row_by_row() -> None:
    """The compiled engine's rows are what ``on_bar`` decides at each bar (flat
    stretches and gaps carried forward included)."""
    prices = _prices(101.37)
    prices[5:30, 1] = prices[4, 1]  # a long stale stretch of the other name
    strat = MeanReversion(window=WINDOW, entry_z=0.5, exit_z=0.0, short=True)
    vec = strat.vectorized_signals(prices, {}).flat
    for t in range(len(prices)):
        got = strat.on_bar(_ctx(prices[: t + 1])).direction
        np.testing.assert_array_equal(got, vec[t], err_msg=f"row {t}")
