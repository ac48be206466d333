"""The stacking fuser keeps the conflict rule of the other fusers: where every expert
abstains (NaN) it has no view (NaN: keep what is held) instead of trading on the
meta-model's intercept, while experts that are flat (0) still get the model's answer."""

from __future__ import annotations

import numpy as np

from alphapulse.fusion.stacking import StackingFuser


def _fitted_on_a_rising_market() -> StackingFuser:
    """Experts that guess at random on closes that rise most bars: the model learns
    little from them and a positive intercept (most labels are up)."""
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0.004, 0.01, (300, 3)), axis=0))
    s = StackingFuser(horizon=5, refit_every=50, min_train=100, n_splits=3, threshold=0.1)
    for t in range(300):
        s.observe(t, rng.choice([-1.0, 1.0], (2, 3)), close[t])
    assert s.model is not None
    return s


def test_every_expert_abstaining_is_no_view() -> None:
    s = _fitted_on_a_rising_market()
    dirs = np.array([[np.nan, 0.0, np.nan], [np.nan, 0.0, 1.0]])  # [E, N]
    d, conf = s.fuse(299, dirs)
    assert np.isnan(d[0]) and np.isnan(conf[0])  # both experts abstain on symbol 0
    # both flat on symbol 1: a view the model answers (here from its intercept: long)
    assert d[1] == 1.0 and 0.1 < conf[1] <= 1.0
    assert np.isfinite(d[2]) and np.isfinite(conf[2])  # one expert speaks on symbol 2
    all_out, all_conf = s.fuse(299, np.full((2, 3), np.nan))
    assert np.isnan(all_out).all() and np.isnan(all_conf).all()
