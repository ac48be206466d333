"""Detectors on degenerate prices: flat series and fits that leave a state without data."""

from __future__ import annotations

import numpy as np

from alphapulse.regimes import HMMRegime, VolRegime, log_returns


def test_vol_regime_calls_flat_prices_calm() -> None:
    """Zero realised vol is the lowest possible, not the top of its history: a flat
    series, and a flat stretch after a moving one, are calm."""
    flat = np.full(300, 100.0)
    moving = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 200)))
    stale = np.concatenate([moving, np.full(300, moving[-1])])
    for close in (flat, stale):
        r = log_returns(close)
        batch = VolRegime(lookback=100, min_history=20).detect(r)
        det = VolRegime(lookback=100, min_history=20)
        steps = [det.update(x) for x in r]
        assert [s.state for s in steps] == batch.state.tolist()
        assert batch.names()[-50:] == ["calm"] * 50
        assert np.all(batch.probs[-50:, 1] < 0.05)  # p_high_vol


def test_hmm_refit_leaving_a_state_without_data_is_a_failed_fit() -> None:
    """Prices bouncing between two levels give two distinct feature rows; a 3-state fit
    eventually leaves one state without data (NaN means, a zero transition row). Such a
    fit is recorded as failed and the model in force stays (before: it was used, its
    NaN state could be labelled high_vol, and the next warm-started refit raised)."""
    r = log_returns(np.tile([100.0, 101.0], 200))

    def make() -> HMMRegime:
        return HMMRegime(n_states=3, min_train=20, refit_every=20, n_iter=30)

    det = make()
    steps = [det.update(x) for x in r]
    failed = [f for f in det.fits if f.failed]
    assert failed and det.n_fits > 0
    assert np.isfinite(det.fit.means).all() and np.allclose(det.fit.trans.sum(axis=1), 1.0)
    probs = np.array([s.probs for s in steps])
    assert np.isfinite(probs[[s.state >= 0 for s in steps]]).all()
    batch = make().detect(r)
    np.testing.assert_array_equal(batch.state, [s.state for s in steps])
    np.testing.assert_allclose(batch.probs, probs, atol=1e-12)
