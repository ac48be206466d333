"""The compiled decision-path kernels equal the numpy expressions bit for bit: the
shadow books' step and trailing vol, the fusers and stops; the proxy return to 1e-12
(numba's log and numpy's SIMD log may differ in the last bit)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.fusion.fusers import confidence_average, majority_vote, risk_budget_weights
from alphapulse.fusion.kernels import apply_stops, fuse, mean_log_return, risk_budget
from alphapulse.fusion.shadow import ShadowBooks

SEEDS = st.integers(0, 2**32 - 1)


def _dirs(rng: np.random.Generator, e: int, n: int, conf: bool = False) -> np.ndarray:
    d = rng.choice([-1.0, 0.0, 1.0, np.nan], size=(e, n))
    return rng.random((e, n)) * (d if not conf else 1.5) if conf else d


class _NumpyBooks:
    """The numpy shadow books (the expressions ``book_step`` follows)."""

    def __init__(self, e: int, n: int, cost_bps: float) -> None:
        self.dirs = np.full((e, n), np.nan)
        self.cost, self.held, self.last = cost_bps * 1e-4, np.zeros((e, n)), None
        self.rows: list[np.ndarray] = []

    def update(self, close: np.ndarray, directions: np.ndarray) -> None:
        e, n = self.held.shape
        if self.last is None:
            gross = np.zeros(e)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = close / self.last - 1.0
            gross = (self.held * np.where(np.isfinite(r), r, 0.0)[None, :]).sum(axis=1) / n
        self.dirs = np.where(np.isnan(directions), self.dirs, directions)
        new = np.nan_to_num(self.dirs, nan=0.0)
        cost = self.cost * np.abs(new - self.held).sum(axis=1) / n
        self.held = new
        self.last = (
            close.copy() if self.last is None else np.where(np.isfinite(close), close, self.last)
        )
        self.rows.append(gross - cost)


@settings(max_examples=60, deadline=None)
@given(
    e=st.integers(1, 4), n=st.sampled_from([1, 3, 9, 50, 130]), bars=st.integers(1, 40), seed=SEEDS
)
def test_books_equal_numpy(e: int, n: int, bars: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (bars, n)), axis=0))
    close[rng.random(close.shape) < 0.1] = np.nan
    books, ref = ShadowBooks(e, n, 5.0), _NumpyBooks(e, n, 5.0)
    for t in range(bars):
        d = _dirs(rng, e, n)
        books.update(close[t], d)
        ref.update(close[t], d)
        np.testing.assert_array_equal(books.dirs, ref.dirs)
    want = np.array(ref.rows)
    np.testing.assert_array_equal(books.returns(), want)
    np.testing.assert_array_equal(books.returns(7), want[-7:])
    vol = books.trailing_vol(30, min_rows=2)
    if bars >= 2:
        np.testing.assert_array_equal(vol, want[-30:].std(axis=0, ddof=1))
    else:
        assert np.isnan(vol).all()


@settings(max_examples=150, deadline=None)
@given(
    e=st.integers(1, 5), n=st.integers(1, 20), thr=st.sampled_from([0.0, 0.1, 0.2, 0.5]), seed=SEEDS
)
def test_fusers_equal_numpy(e: int, n: int, thr: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dirs = _dirs(rng, e, n)
    conf = np.where(rng.random((e, n)) < 0.2, np.nan, rng.normal(0.5, 0.5, (e, n)))
    w = rng.choice([0.0, 0.5, 1.0, 2.0], size=e)  # equal weights: ties
    np.testing.assert_array_equal(fuse(dirs, conf, w, -1.0), majority_vote(dirs, w)[0])
    np.testing.assert_array_equal(
        fuse(dirs, conf, w, thr), confidence_average(dirs, conf, w, thr)[0]
    )
    vol = np.where(rng.random(e) < 0.3, rng.choice([np.nan, 0.0]), rng.random(e))
    np.testing.assert_array_equal(risk_budget(vol, w), risk_budget_weights(vol, w))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 30), stop=st.sampled_from([None, 0.02, 0.1]), seed=SEEDS)
def test_stops_and_proxy_return_equal_numpy(n: int, stop: float | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = rng.choice([-1.0, 0.0, 1.0, np.nan], size=n)
    stopped = rng.choice([-1.0, 0.0, 1.0], size=n)
    pos = rng.choice([-5.0, 0.0, 5.0], size=n)
    avg, px = 100 * (1 + rng.normal(0, 0.05, n)), 100 * (1 + rng.normal(0, 0.05, n))
    px[rng.random(n) < 0.2] = np.nan
    want_stopped = np.where(np.nan_to_num(d) != stopped, 0.0, stopped)
    if stop is not None:
        with np.errstate(invalid="ignore"):
            hit = ((pos > 0) & (px <= avg * (1 - stop))) | ((pos < 0) & (px >= avg * (1 + stop)))
        want_stopped = np.where(hit, np.sign(pos), want_stopped)
    got = apply_stops(d, stopped, np.nan if stop is None else stop, pos, avg, px)
    np.testing.assert_array_equal(stopped, want_stopped)
    np.testing.assert_array_equal(got, np.where(want_stopped != 0, 0.0, d))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log(px / avg)
    r = r[np.isfinite(r)]
    want = float(r.mean()) if len(r) else np.nan
    # log: numba's libm and numpy's SIMD loop may differ in the last bit (then the mean)
    np.testing.assert_allclose(mean_log_return(avg, px), want, rtol=1e-12, atol=1e-15)
