"""Drawdown depth and peak-to-recovery durations, computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.drawdown import drawdown, drawdown_spans
from alphapulse.analytics.metrics import compute_metrics

NO_TRADES = pd.DataFrame()


def _ns(index: pd.DatetimeIndex) -> np.ndarray:
    return index.as_unit("ns").asi8


def test_drawdown_series_and_spans() -> None:
    equity = np.array([100.0, 110.0, 99.0, 105.0, 110.0, 120.0, 90.0, 95.0])
    index = pd.DatetimeIndex(
        ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
         "2024-01-08", "2024-01-20", "2024-03-01"]
    )  # fmt: skip
    np.testing.assert_allclose(
        drawdown(equity), [0, 0, -0.1, -5 / 110, 0, 0, -0.25, -25 / 120], rtol=1e-15
    )
    bars, days = drawdown_spans(equity, _ns(index))
    # peak bar 1 -> recovery bar 4 (equal to the peak counts); peak bar 5 -> never, last bar 7
    assert bars.tolist() == [3, 2]
    assert days.tolist() == [3.0, 53.0]

    m = compute_metrics(pd.Series(equity, index=index), NO_TRADES, periods_per_year=252)
    assert m["max_drawdown"] == pytest.approx(-0.25)
    assert m["max_drawdown_duration_bars"] == 3  # longest in bars ...
    assert m["max_drawdown_duration_days"] == 53.0  # ... and, separately, in days


def test_loss_on_first_bar_is_a_drawdown_from_the_start() -> None:
    equity = np.array([100.0, 90.0, 95.0, 100.0, 101.0])
    bars, days = drawdown_spans(equity, np.arange(5) * 3_600 * 10**9)
    assert bars.tolist() == [3] and days.tolist() == [pytest.approx(3 / 24)]
    assert drawdown(equity).min() == pytest.approx(-0.1)


def test_no_drawdown() -> None:
    equity = np.array([1.0, 1.0, 2.0, 3.0])
    bars, days = drawdown_spans(equity, np.arange(4))
    assert bars.size == 0 and days.size == 0
    assert drawdown(equity).tolist() == [0.0, 0.0, 0.0, 0.0]
    index = pd.date_range("2024-01-01", periods=4, freq="D")
    m = compute_metrics(pd.Series(equity, index=index), NO_TRADES)
    assert m["max_drawdown"] == 0.0 and m["calmar"] is None
    assert m["max_drawdown_duration_bars"] == 0 and m["max_drawdown_duration_days"] == 0.0


def test_never_recovered_runs_to_the_end() -> None:
    equity = np.array([10.0, 12.0, 11.0, 9.0, 11.5])
    bars, days = drawdown_spans(equity, np.arange(5) * 86_400 * 10**9)
    assert bars.tolist() == [3] and days.tolist() == [3.0]
