"""Look-ahead probes of parameter selection end to end: walk-forward optimisation through
the compiled kernel on real bars, with every bar after a cutoff changed, chooses the same
sets for the windows that end by the cutoff and stitches the same equity up to it; and
the vectorised SMA crossover's choice between its bounded and exact means (made on the
whole column) leaves every earlier direction as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.analytics import optimize as opt
from alphapulse.analytics.optimize_config import OptimizeConfig
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.ml.leakage import Perturbation, perturb_after
from alphapulse.sweep.signals import sma_cross_directions

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM"]
TRAIN, TEST, CUT = 200, 60, 560
GRID = {"fast": [5, 10, 20], "slow": [30, 60, 100]}
SPACE = {"fast": {"low": 3, "high": 25, "step": 1}, "slow": {"low": 30, "high": 120, "step": 10}}


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2016-12-31")


def _cfg(**over: Any) -> OptimizeConfig:
    costs = {"commission": {"model": "percent", "rate": 0.0005}, "slippage": {"model": "fixed_bps"}}
    base = {
        "backtest": {"data": {"source": "sp500_daily_2013_2018"}, "execution": costs},
        "strategy": "sma_cross",
        "engine": "compiled",
        "params": GRID,
        "walk_forward": {"train_bars": TRAIN, "test_bars": TEST},
    }
    return OptimizeConfig.model_validate({**base, **over})


@pytest.mark.parametrize(
    ("over", "how"),
    [
        ({}, "scale"),
        ({"objective": "calmar"}, "truncate"),
        ({"method": "optuna", "n_trials": 8, "params": SPACE}, "scale"),
    ],
    ids=["grid-sharpe-scale", "grid-calmar-truncate", "optuna-scale"],
)
def test_walk_forward_choices_up_to_the_cutoff_ignore_later_bars(
    panel: Panel, over: dict[str, Any], how: Perturbation
) -> None:
    cfg = _cfg(**over)
    base = opt.optimize(cfg, panel)
    moved = opt.optimize(cfg, perturb_after(panel, CUT, seed=1, how=how))
    wins = opt.windows(panel.n_bars - 1, TRAIN, TEST)
    done = sum(1 for _, b, _ in wins if b <= CUT)  # windows chosen by the cutoff's close
    done = min(done, len(moved["windows"]))  # truncated: its last window may be left out
    assert 2 <= done < len(wins)
    keys = ("params", "in_sample", "train_start", "test_start")
    for a, b in zip(base["windows"][:done], moved["windows"][:done], strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    first = wins[0][1]  # the stitched equity starts at the first test window's start
    eq_a, eq_b = (np.asarray(r["oos_equity"]["equity"]) for r in (base, moved))
    np.testing.assert_array_equal(eq_a[: CUT - first + 1], eq_b[: CUT - first + 1])
    if how == "truncate":  # the moved runs end at the cutoff
        assert len(eq_b) == CUT - first + 1 < len(eq_a)
    else:  # the perturbation reaches the runs
        assert not np.array_equal(eq_a, eq_b)


@pytest.mark.parametrize("future", ["negative", "zero", "inf"])
@pytest.mark.parametrize("cut", [47, 300, 901])
def test_sma_cross_path_switch_moves_no_earlier_direction(
    panel: Panel, future: str, cut: int
) -> None:
    """A price after ``cut`` that is negative, zero or infinite sends the whole column to
    the exact means (the bounded rolling sums need finite prices >= 0): the directions at
    rows <= cut are those of the bounded path on the unchanged column."""
    x = forward_fill(panel.fields["close"])
    y = x.copy()
    y[cut + 1 :] = {"negative": -y[cut + 1 :], "zero": 0.0 * y[cut + 1 :], "inf": np.inf}[future]
    for cols in (slice(0, 1), slice(None)):  # one symbol (pairwise sums) and the cross-section
        a = sma_cross_directions(np.ascontiguousarray(x[:, cols]), 5, 20)
        b = sma_cross_directions(np.ascontiguousarray(y[:, cols]), 5, 20)
        np.testing.assert_array_equal(a[: cut + 1], b[: cut + 1])
        assert np.isfinite(a[: cut + 1]).any()
