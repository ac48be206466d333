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

from .lag import BarLag

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


def _walk(det: HMMRegime, r: np.ndarray) -> list[int]:
    """Bar by bar, stamping bar t with the time 1000 + t (what a session does)."""
    states = []
    for t, x in enumerate(r):
        det.now = 1000 + t
        states.append(det.update(x).state)
    return states


@pytest.mark.parametrize("old_journal", [False, True], ids=["journal", "old_journal"])
@pytest.mark.parametrize("pending", [False, True], ids=["idle", "fit_pending"])
def test_replay_swaps_the_journaled_models_at_their_bars(pending: bool, old_journal: bool) -> None:
    """A detector restarted from journaled swaps (``replay``) decides every bar as the
    original did, though the replay's fits would finish at other bars: journaled fits
    are made at their data bar and held until their bar; a fit that failed in the
    original is held as failed until its bar (a journal written before failures were
    journaled lacks it: it does not block the next journaled fit); a fit running at the
    crash is submitted again and finishes as it would have."""
    kw = {**KW, "refit_every": 10}
    r = _returns(300)
    dry = HMMRegime(**kw)
    dry.background(BarLag(dry, lambda bar: 6))
    _walk(dry, r)
    fail = {dry.fits[1].data_bar}  # the second fit fails in both runs
    orig = HMMRegime(**kw)
    orig.background(BarLag(orig, lambda bar: 6, fail))
    want = _walk(orig, r)
    busy = [bar for bar in range(150, 250) if any(f.data_bar < bar < f.used_bar for f in orig.fits)]
    crash = busy[0] if pending else next(b for b in range(150, 250) if b not in busy)
    plan = [
        (1000 + f.data_bar, 1000 + f.used_bar, f.failed)
        for f in orig.fits
        if f.used_bar <= crash and not (old_journal and f.failed)
    ]
    assert [f.data_bar for f in orig.fits if f.failed] == sorted(fail) and len(plan) >= 5
    assert min(fail) < crash

    def fast_replay(bar: int) -> int:  # a fast replay: done at the next bar
        return 6 if pending or bar > crash else 0

    models = [f for f in orig.fits if not f.failed]
    for replayed in (False, True):
        det = HMMRegime(**kw)
        det.background(BarLag(det, fast_replay, fail))
        if replayed:
            det.replay(plan, 1000 + crash)
        got = _walk(det, r)
        if replayed or pending:  # without the journal, only a replay as slow matches
            assert got == want and [f for f in det.fits if not f.failed] == models
            # an old journal's failure is not taken at its bar (it is dropped unseen)
            assert (det.fits == orig.fits) == (not (replayed and old_journal))
        else:
            assert det.fits != orig.fits


def test_a_failure_before_the_fit_running_at_the_crash_is_replayed() -> None:
    """A fit fails and the next one is still running at the crash, with no model in
    between: the journaled failure is taken at its bar, so the next refit is submitted
    when the original submitted it (unjournaled, the failed fit would stay pending
    through the replay and the next refit would be skipped)."""
    kw = {**KW, "refit_every": 10}
    r = _returns(300)
    dry = HMMRegime(**kw)
    dry.background(BarLag(dry, lambda bar: 3))
    _walk(dry, r)
    fail = {dry.fits[2].data_bar}
    orig = HMMRegime(**kw)
    orig.background(BarLag(orig, lambda bar: 3, fail))
    want = _walk(orig, r)
    k = next(i for i, f in enumerate(orig.fits) if f.failed)
    after = orig.fits[k + 1]  # the next fit: running at the crash
    crash = after.data_bar + 1
    assert after.used_bar > crash and not after.failed
    plan = [(1000 + f.data_bar, 1000 + f.used_bar, f.failed) for f in orig.fits[: k + 1]]
    det = HMMRegime(**kw)
    det.background(BarLag(det, lambda bar: 3 if bar >= after.data_bar else 0, fail))
    det.replay(plan, 1000 + crash)
    assert _walk(det, r) == want and det.fits == orig.fits
