"""The robustness block of one run, from its equity curve, round trips and fills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics.bootstrap import sharpe_rows
from alphapulse.analytics.capacity import capacity_estimate, fill_inputs
from alphapulse.analytics.metrics import simple_returns
from alphapulse.analytics.overfitting import pbo
from alphapulse.analytics.robustness import robustness
from alphapulse.analytics.trades import position_pnl
from alphapulse.model.orders import Fill

FloatArray = npt.NDArray[np.float64]
PBO_BLOCKS = 16


@dataclass(frozen=True)
class RobustnessInputs:
    """What a run's own arrays do not say: how many trials stand behind it (and their
    per-bar Sharpe ratios, when known), and the [T, N] volume and close of its panel for
    the capacity estimate."""

    n_trials: int = 1
    trial_sharpes: FloatArray | None = None
    volume: FloatArray | None = None
    close: FloatArray | None = None
    impact_coefficient: float = 1.0
    n_resamples: int = 1000
    seed: int = 0
    pbo: dict[str, float] | None = None


def run_robustness(
    equity: FloatArray,
    ppy: float,
    trades: pd.DataFrame,
    fills: Sequence[Fill],
    initial_cash: float,
    inputs: RobustnessInputs | None = None,
) -> dict[str, Any]:
    """``analytics.robustness.robustness`` of a run (capacity only with a panel)."""
    inp = inputs or RobustnessInputs()
    pnl = position_pnl(trades)
    cap = _capacity(equity, fills, initial_cash, inp)
    out = robustness(
        simple_returns(np.asarray(equity, dtype=np.float64)),
        ppy,
        trade_pnl=pnl,
        initial_cash=initial_cash,
        n_trials=inp.n_trials,
        trial_sharpes=inp.trial_sharpes,
        n_resamples=inp.n_resamples,
        seed=inp.seed,
        capacity=cap,
    )
    out["pbo"] = inp.pbo
    return out


def _capacity(
    equity: FloatArray, fills: Sequence[Fill], capital: float, inp: RobustnessInputs
) -> dict[str, Any] | None:
    if inp.volume is None or inp.close is None or not len(equity):
        return None
    qty = np.array([f.quantity for f in fills], dtype=np.float64)
    price = np.array([f.price for f in fills], dtype=np.float64)
    sid = np.array([f.sid for f in fills], dtype=np.int64)
    bar = np.array([f.bar_index for f in fills], dtype=np.int64)
    costs = sum(f.fee + f.slippage for f in fills)
    notional, part, sigma = fill_inputs(qty, price, sid, bar, inp.volume, inp.close)
    return capacity_estimate(
        capital=capital,
        gross_edge=float(equity[-1]) - capital + costs,
        notional=notional,
        participation=part,
        sigma=sigma,
        coefficient=inp.impact_coefficient,
    )


def sweep_inputs(
    equities: Sequence[FloatArray], volume: FloatArray | None, close: FloatArray | None
) -> RobustnessInputs:
    """Inputs for runs that were tried together on one time axis: each run's trials are
    all of them, with their per-bar Sharpe ratios and (for two or more runs over at least
    ``PBO_BLOCKS`` bars) the probability of backtest overfitting of the set."""
    rets = [simple_returns(np.asarray(eq, dtype=np.float64)) for eq in equities]
    sharpes = [float(sharpe_rows(r[None, :], 1.0)[0]) if len(r) > 1 else np.nan for r in rets]
    same = len({len(r) for r in rets}) == 1
    overfit = None
    if len(rets) >= 2 and same and len(rets[0]) >= PBO_BLOCKS:
        overfit = pbo(np.column_stack(rets), n_blocks=PBO_BLOCKS)
    return RobustnessInputs(
        n_trials=max(len(equities), 1),
        trial_sharpes=np.array(sharpes, dtype=np.float64),
        volume=volume,
        close=close,
        pbo=overfit,
    )
