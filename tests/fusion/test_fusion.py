"""Fusers' conflict rules, risk-budget weights, shadow books with costs, and the stacking
meta-model's out-of-sample training and in-sample guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphapulse.fusion import (
    ShadowBooks,
    StackingFuser,
    confidence_average,
    majority_vote,
    risk_budget_weights,
)
from alphapulse.ml.integrity import InSampleError, TrainingSpan

NAN = np.nan


def test_conflict_rules() -> None:
    # columns: long vs short at equal weight (tie -> flat), one abstains (others
    # decide), all abstain (NaN: keep), 2 long vs 1 short (long)
    dirs = np.array([[1.0, 1.0, NAN, 1.0], [-1.0, NAN, NAN, 1.0], [NAN, -1.0, NAN, -1.0]])
    d, _ = majority_vote(dirs, np.ones(3))
    np.testing.assert_array_equal(d[[0, 3]], [0.0, 1.0])
    assert d[1] == 0.0 and np.isnan(d[2])
    d, _ = majority_vote(dirs, np.array([2.0, 1.0, 1.0]))  # the heavier expert wins
    np.testing.assert_array_equal(d[[0, 1]], [1.0, 1.0])
    d, _ = majority_vote(dirs, np.array([0.0, 1.0, 0.0]))  # zero weight = abstain
    np.testing.assert_array_equal(d[[0, 3]], [-1.0, 1.0])
    assert np.isnan(d[1])


def test_confidence_average_threshold_and_confidence() -> None:
    dirs = np.array([[1.0, 1.0], [-1.0, 1.0]])
    conf = np.array([[0.9, 0.5], [0.3, 0.5]])
    d, c = confidence_average(dirs, conf, np.ones(2), threshold=0.2)
    np.testing.assert_allclose(c, [0.3, 0.5])
    np.testing.assert_array_equal(d, [1.0, 1.0])
    d, _ = confidence_average(dirs, conf, np.ones(2), threshold=0.4)
    np.testing.assert_array_equal(d, [0.0, 1.0])


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, 4, elements=st.floats(1e-3, 1.0)))
def test_risk_budget_is_inverse_vol(vol: np.ndarray) -> None:
    w = risk_budget_weights(vol, np.ones(4))
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w * vol, (w * vol)[0], rtol=1e-9)


def test_shadow_book_returns_with_costs() -> None:
    b = ShadowBooks(2, 2, cost_bps=10.0)
    b.update(np.array([100.0, 50.0]), np.array([[1.0, NAN], [-1.0, 1.0]]))
    r = b.update(np.array([110.0, 55.0]), np.full((2, 2), NAN))  # standing views held
    np.testing.assert_allclose(r, [0.10 / 2, (-0.10 + 0.10) / 2])
    r = b.update(np.array([110.0, 55.0]), np.array([[0.0, NAN], [NAN, NAN]]))
    np.testing.assert_allclose(r, [-10e-4 * 1 / 2, 0.0])  # cost of closing expert 0
    assert b.returns().shape == (3, 2)


def _informative_stream(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Expert 0 knows the sign of the next 5-bar return 70% of the time; expert 1 is noise."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n + 5, 3)), axis=0))
    fwd = np.sign(close[5:] / close[:-5] - 1)[:n]
    good = np.where(rng.random((n, 3)) < 0.7, fwd, -fwd)
    dirs = np.stack([good, rng.choice([-1.0, 1.0], (n, 3))], axis=1)  # [T, E, N]
    return dirs, close[:n]


def test_stacking_learns_the_good_expert_only_from_realised_labels() -> None:
    dirs, close = _informative_stream(400, 0)
    s = StackingFuser(horizon=5, refit_every=50, min_train=100, n_splits=3, threshold=0.0)
    for t in range(400):
        s.observe(t * 10**9, dirs[t], close[t])
    assert s.model is not None and len(s.fits) >= 5
    coef = s.model.coef_[0]
    assert coef[0] > 3 * abs(coef[1])
    assert s.span is not None and s.span.known_ns <= 399 * 10**9  # labels realised by t
    # changing every close after T changes no fit and no decision up to T
    close2 = close.copy()
    close2[351:] *= np.exp(np.random.default_rng(5).normal(0, 0.2, close2[351:].shape))
    runs = []
    for c in (close, close2):
        f = StackingFuser(horizon=5, refit_every=50, min_train=100, n_splits=3)
        out = []
        for t in range(400):
            f.observe(t * 10**9, dirs[t], c[t])
            out.append(f.fuse(t * 10**9, dirs[t])[1])
        runs.append((f, np.array(out)))
    (a, out_a), (b, out_b) = runs
    np.testing.assert_array_equal(out_a[:351], out_b[:351])
    assert a.fits[:6] == b.fits[:6]
    assert not np.array_equal(out_a[351:], out_b[351:])  # the perturbation matters


def test_stacking_refuses_bars_inside_its_training_window() -> None:
    s = StackingFuser()
    dirs, close = _informative_stream(300, 1)
    for t in range(300):
        s.observe(t * 10**9, dirs[t], close[t])
    assert s.span is not None
    d, _ = s.fuse(299 * 10**9, dirs[299])
    assert np.isfinite(d).all()
    s.span = TrainingSpan("stacking meta-model", 0, 400 * 10**9)  # a model that saw later
    with pytest.raises(InSampleError, match="in sample"):
        s.fuse(299 * 10**9, dirs[299])


@pytest.mark.parametrize("w", [float("inf"), float("nan"), -1.0])
def test_a_rule_weight_must_be_finite_and_nonnegative(w: float) -> None:
    """An infinite weight would fuse to inf / inf = NaN (keep what is held) or drop a
    flat expert (inf x 0): the config names the key instead."""
    from alphapulse.config import parse_config
    from alphapulse.core.errors import ConfigError

    experts = [{"strategy": "buy_and_hold", "name": "a"}, {"strategy": "sma_cross", "name": "b"}]
    params = {"experts": experts, "default": {"weights": {"a": w, "b": 1.0}}}
    raw = {"data": {"source": "x"}, "strategies": [{"strategy": "hybrid", "params": params}]}
    why = "must be >= 0" if w == -1.0 else "Input should be a finite number"
    with pytest.raises(ConfigError, match=rf"params\.default[.:] ?weights\.a: {why}"):
        parse_config(raw)
