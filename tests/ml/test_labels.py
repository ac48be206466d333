"""Labels by hand on tiny series: forward returns, classes, triple barrier, weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphapulse.data.panel import Panel
from alphapulse.ml.labels import classify, forward_returns, sample_weights, triple_barrier

NAN = np.nan


def _panel(close: list[list[float]], open_: list[list[float]] | None = None) -> Panel:
    c = np.array(close, dtype=float)
    o = c.copy() if open_ is None else np.array(open_, dtype=float)
    t = np.arange(c.shape[0], dtype=np.int64)
    return Panel(
        t,
        tuple(f"S{i}" for i in range(c.shape[1])),
        {"open": o, "high": c, "low": c, "close": c, "volume": np.ones_like(c)},
    )


def test_forward_returns_skip_missing_bars() -> None:
    p = _panel([[10.0], [11.0], [NAN], [12.0], [13.0], [12.0]])
    y, end = forward_returns(p, 2)
    np.testing.assert_allclose(y[:, 0], [12 / 10 - 1, 13 / 11 - 1, NAN, 12 / 12 - 1, NAN, NAN])
    np.testing.assert_array_equal(end[:, 0], [3, 4, -1, 5, -1, -1])


def test_forward_returns_next_open() -> None:
    p = _panel([[10.0], [11.0], [12.0], [13.0]], open_=[[9.0], [10.5], [11.5], [12.5]])
    y, end = forward_returns(p, 1, entry="next_open")
    np.testing.assert_allclose(y[:, 0], [11.5 / 10.5 - 1, 12.5 / 11.5 - 1, NAN, NAN])
    np.testing.assert_array_equal(end[:, 0], [2, 3, -1, -1])


def test_classify() -> None:
    y = np.array([0.02, -0.02, 0.001, NAN, -0.001])
    np.testing.assert_array_equal(classify(y, 0.005), [1, -1, 0, NAN, 0])


def _tb_panel(moves: list[float]) -> Panel:
    """Closes with two warm-up returns of +-1% (sigma = sqrt(2) x 1%), then ``moves``."""
    c = [100.0, 101.0, 100.0]
    for m in moves:
        c.append(c[-1] * math.exp(m))
    return _panel([[x] for x in c])


@pytest.mark.parametrize(
    ("moves", "label", "end_row"),
    [
        ([0.005, 0.02, -0.05], 1.0, 4),  # upper barrier at the 2nd bar
        ([-0.005, -0.02, 0.05], -1.0, 4),  # lower barrier at the 2nd bar
        ([0.005, -0.005, 0.006], 0.0, 5),  # time barrier after 3 bars
    ],
)
def test_triple_barrier_touches(moves: list[float], label: float, end_row: int) -> None:
    p = _tb_panel(moves)
    lab, ret, end = triple_barrier(p, horizon=3, up_mult=1.0, down_mult=1.0, vol_window=2)
    sigma = np.std([math.log(1.01), math.log(100 / 101)], ddof=1)
    assert 0.01 < sigma < 0.02  # so +-0.5% stays inside and +-2.5% cum. crosses
    assert lab[2, 0] == label and end[2, 0] == end_row
    c = p.fields["close"][:, 0]
    assert ret[2, 0] == pytest.approx(c[end_row] / c[2] - 1)
    assert np.isnan(lab[:2, 0]).all() and np.isnan(lab[3:, 0]).all()  # no full horizon


def test_triple_barrier_disabled_barrier() -> None:
    p = _tb_panel([0.005, 0.02, -0.05])
    lab, _, end = triple_barrier(p, 3, up_mult=math.inf, down_mult=1.0, vol_window=2)
    assert lab[2, 0] == -1.0 and end[2, 0] == 5


def test_triple_barrier_flat_window_unchanged_price_is_not_up() -> None:
    """A flat vol window (sigma = 0) puts both barriers at the entry price: a move either
    way crosses one, an unchanged price crosses neither (time barrier, label 0)."""
    p = _panel([[100.0], [100.0], [100.0], [100.0], [100.0], [101.0], [99.0], [99.0]])
    lab, ret, end = triple_barrier(p, horizon=2, up_mult=1.0, down_mult=1.0, vol_window=2)
    # t=2: 100, 100 -> time barrier; t=3: 100, 101 -> up at 5; t=4: 101 -> up at 5
    np.testing.assert_array_equal(lab[2:5, 0], [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(end[2:5, 0], [4, 5, 5])
    assert ret[2, 0] == 0.0
    assert lab[5, 0] == -1.0 and end[5, 0] == 6  # 101 -> 99 after a non-flat window


def test_sample_weights_average_uniqueness() -> None:
    # labels (t, end]: t0 -> rows 1..3, t1 -> 2..4, t3 -> 4..5; concurrency 1,2,2,2,1
    end = np.array([[3], [4], [-1], [5], [-1], [-1]])
    w = sample_weights(end)
    np.testing.assert_allclose(w[:, 0], [2 / 3, 0.5, NAN, 0.75, NAN, NAN])


def test_sample_weights_non_overlapping_are_one_and_symbols_independent() -> None:
    end = np.array([[1, 2], [2, -1], [3, -1], [-1, -1]])
    w = sample_weights(end)
    np.testing.assert_allclose(w[:3, 0], 1.0)
    assert w[0, 1] == 1.0 and np.isnan(w[1:, 1]).all()
