"""``rl evaluate``'s folds: no training or validation bar inside or after a test window,
and the policy is scored on exactly the bars its baselines are."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.rl import evaluate as rl_evaluate
from alphapulse.rl.env import TradingEnv
from tests.rl.conftest import make_panel, random_walk, rl_config


@settings(max_examples=50, deadline=None)
@given(
    n_bars=st.integers(20, 400),
    folds=st.integers(1, 5),
    train=st.integers(10, 120),
    valid=st.integers(2, 40),
    test=st.integers(2, 60),
    warmup=st.integers(0, 20),
)
def test_fold_windows_never_overlap(
    n_bars: int, folds: int, train: int, valid: int, test: int, warmup: int
) -> None:
    """Each fold's train, validation and test rows are adjacent, in that order, of the
    configured sizes; the test windows tile the panel's last ``folds x test_bars`` rows;
    a window that does not fit is a ConfigError."""
    panel = random_walk(2, 1)
    ev = {"folds": folds, "train_bars": train, "valid_bars": valid, "test_bars": test}
    cfg = rl_config(panel, 0, evaluate=ev, env={"warmup_bars": warmup})
    if train < warmup + 2 or folds * test + valid + train > n_bars:
        with pytest.raises(ConfigError):
            rl_evaluate.fold_rows(n_bars, cfg)
        return
    rows = rl_evaluate.fold_rows(n_bars, cfg)
    tests = [r[2] for r in rows]
    assert tests[0][0] == n_bars - folds * test and tests[-1][1] == n_bars
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tests))
    for (t0, t1), (v0, v1), (s0, s1) in rows:
        assert t0 >= 0 and t1 - t0 == train and v1 - v0 == valid and s1 - s0 == test
        assert t1 == v0 and v1 == s0  # nothing of the test window is trained or validated on


class Scripted:
    """A policy that always takes ``action``, "trained" by recording its rows."""

    def __init__(self, action: int, n_symbols: int) -> None:
        self.policy, self.timesteps = self, 0
        self.action = np.full(n_symbols, action)
        self.trained: list[tuple[Any, Any]] = []

    def act(self, obs: Any) -> Any:
        return self.action

    def train(self, cfg: Any, panel: Panel, rows: Any, valid: Any, feats: Any) -> Scripted:
        self.trained.append((rows, valid))
        return self


def scored_folds(
    mp: pytest.MonkeyPatch, panel: Panel, cfg: Any, policy: Scripted
) -> tuple[list[Any], list[np.ndarray]]:
    """Each fold's rows and the scripted policy's per-bar test returns from ``_fold``."""
    mp.setattr(rl_evaluate, "train_policy", policy.train)
    folds = rl_evaluate.fold_rows(panel.n_bars, cfg)
    shared = (panel, cfg, rl_evaluate.panel_features(panel, cfg))
    return folds, [rl_evaluate._fold(shared, (k, 2, f), None) for k, f in enumerate(folds)]


FOLDS = {"folds": 2, "train_bars": 30, "valid_bars": 10, "test_bars": 30, "bootstrap": 0}


def test_policy_and_baselines_share_the_test_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scripted always-long policy, scored by ``_fold``, trains only on rows before its
    test window, steps exactly the window's bars and earns what buy and hold earns there:
    both start flat with the same costs and first decide on the window's first bar."""
    panel = random_walk(100, 2, seed=9)
    cfg = rl_config(panel, 0, evaluate=FOLDS, env={"warmup_bars": 10})
    stepped: list[int] = []
    real_step = TradingEnv.step

    def spy(env: TradingEnv, action: Any) -> Any:
        stepped.append(env._t)
        return real_step(env, action)

    monkeypatch.setattr(TradingEnv, "step", spy)
    policy = Scripted(2, panel.n_symbols)
    folds, returns = scored_folds(monkeypatch, panel, cfg, policy)
    for (rows, valid), (_, _, (lo, _)) in zip(policy.trained, folds, strict=True):
        assert rows[1] <= valid[0] and valid[1] <= lo
    assert stepped == list(range(40, 100))
    base = rl_evaluate.baseline_returns(cfg, panel, folds)
    np.testing.assert_allclose(np.concatenate(returns), base["buy_and_hold"], rtol=1e-12)


def test_a_ruined_fold_is_scored_on_all_its_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    """All in short, the price quadruples inside the first test window: ruin ends the
    policy's episode there, yet the fold still has one return per test bar (0 after the
    ruin), so the policy and the baselines are compared on the same bars. Before, that
    fold had 11 returns against the baselines' 30 and later folds' bars were shifted."""
    closes = np.array([100.0] * 50 + [400.0] * 20 + [100.0] * 30)[:, None]
    panel = make_panel(closes)
    cfg = rl_config(panel, 0, evaluate=FOLDS, env={"warmup_bars": 5, "allow_short": True},
                    execution={"allow_short": True})  # fmt: skip
    _, returns = scored_folds(monkeypatch, panel, cfg, Scripted(0, 1))
    assert [len(r) for r in returns] == [30, 30]
    ruin = int(np.argmax(returns[0] <= -1.0))
    assert ruin == 10 and (returns[0][ruin + 1 :] == 0).all()
