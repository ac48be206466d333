"""HMM refits: synchronous at their bar in backtests (deterministic, batch equals bar by
bar), in the background in paper mode (a decision never waits for a fit; the model is
swapped in at the first bar after the fit completes, recorded with its data bar)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from alphapulse.regimes import hmm
from alphapulse.regimes.hmm import HMMRegime

KW = {"n_states": 2, "min_train": 60, "refit_every": 40, "n_iter": 5}


def _returns(n: int = 240, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vol = np.where((np.arange(n) // 60) % 2 == 1, 0.03, 0.008)
    return rng.normal(0.0, vol)


def test_backtest_refits_at_their_bar_and_equal_batch() -> None:
    r = _returns()
    det = HMMRegime(**KW)
    steps = [det.update(x) for x in r]
    batch = HMMRegime(**KW).detect(r)
    np.testing.assert_array_equal([s.state for s in steps], batch.state)
    np.testing.assert_allclose(np.array([s.probs for s in steps]), batch.probs, rtol=1e-12)
    assert len(det.fits) >= 3
    assert all(f.used_bar == f.data_bar for f in det.fits)  # refit at its own bar


def test_paper_decisions_never_wait_for_a_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = hmm.fit_hmm

    def slow_fit(*args: Any) -> hmm.Fitted:
        assert release.wait(30)
        return real(*args)

    monkeypatch.setattr(hmm, "fit_hmm", slow_fit)
    r = _returns()
    det = HMMRegime(**KW)
    pool = ThreadPoolExecutor(1)
    det.background(pool)
    first_due = 0
    for t in range(120):  # the first fit is due at bar ~80 and blocks until released
        t0 = time.perf_counter()
        step = det.update(r[t])
        assert time.perf_counter() - t0 < 1.0  # never the blocked fit's wait
        assert step.state == -1  # no model yet: warmup, decided without it
        first_due = first_due or (t if det._pending is not None else 0)
    assert first_due > 0 and det.fits == []
    release.set()
    det._pending[0].result(timeout=30)  # type: ignore[index]
    step = det.update(r[120])
    assert step.state >= 0 and len(det.fits) == 1
    fit = det.fits[0]
    assert fit.data_bar == first_due < fit.used_bar == 120  # fitted on data up to t' <= t
    pool.shutdown()


def test_background_with_instant_fits_uses_the_model_one_bar_later() -> None:
    """The first model a paper detector uses is the same fit a backtest makes at t', in
    force from the next bar (the fit runs while bar t' is decided with the old model)."""
    r = _returns()
    sync, bg = HMMRegime(**KW), HMMRegime(**KW)
    bg.background(ThreadPoolExecutor(1))
    for x in r[:100]:
        sync.update(x)
        bg.update(x)
        if bg._pending is not None:
            bg._pending[0].result(timeout=30)
    assert sync.fits[0].data_bar == bg.fits[0].data_bar == bg.fits[0].used_bar - 1
    assert sync.fits[0].n_rows == bg.fits[0].n_rows
