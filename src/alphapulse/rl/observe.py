"""What a policy sees and what its actions mean; shared by the environment (``rl.env``)
and the strategy plugin (``strategies/rl_strategy.py``) so both decide the same way.

Observation at a decision at bar t, float32:
``[features of bar t (N x F, z-scored with trailing statistics, NaN -> 0, clipped),
position weight (N), unrealised P&L / equity (N), cash / equity (1)]``; the account part
is the book the strategy saw at its previous decision (bar t-1), which is what the
environment knows before it runs bar t. Actions: discrete {0: short, 1: flat, 2: long}
per symbol, or continuous target weights in [-1, 1] per symbol (rounded to
``weight_step``), each a fraction of the symbol's 1/N slot of equity (``EqualSlot``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.rl.config import EnvConfig

FloatArray = npt.NDArray[np.float64]
Obs = npt.NDArray[np.float32]


def obs_size(n_symbols: int, n_features: int) -> int:
    return n_symbols * n_features + 2 * n_symbols + 1


def observation_space(n_symbols: int, n_features: int, clip: float) -> gym.spaces.Box:
    n = obs_size(n_symbols, n_features)
    return gym.spaces.Box(-clip, clip, shape=(n,), dtype=np.float32)


def action_space(cfg: EnvConfig, n_symbols: int) -> gym.spaces.Space[Any]:
    if cfg.action == "continuous":
        return gym.spaces.Box(-1.0, 1.0, shape=(n_symbols,), dtype=np.float32)
    return gym.spaces.MultiDiscrete([3] * n_symbols)


def clean_features(values: FloatArray, clip: float) -> Obs:
    """Feature rows [..., N, F] -> float32, NaN -> 0, clipped to [-clip, clip]."""
    out = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=clip, neginf=-clip)
    return np.clip(out, -clip, clip)


def account_state(ctx: Context | None, n_symbols: int) -> FloatArray:
    """Position weights, unrealised P&L / equity per symbol, and cash / equity."""
    out = np.empty(2 * n_symbols + 1)
    fill_account(out, ctx, np.inf)
    return out


def fill_account(out: npt.NDArray[Any], ctx: Context | None, clip: float) -> None:
    """Write ``account_state`` (clipped to [-clip, clip]) into ``out`` in place."""
    if ctx is None or ctx.equity <= 0:
        out[:] = 0.0
        out[-1] = 1.0
        return
    _account(out, ctx.positions, ctx.avg_prices, ctx.last_prices, ctx.cash, ctx.equity, clip)


@njit(cache=True)
def _account(
    out: npt.NDArray[Any],
    pos: FloatArray,
    avg: FloatArray,
    last: FloatArray,
    cash: float,
    equity: float,
    clip: float,
) -> None:  # pragma: no cover (numba)
    n = pos.shape[0]
    for i in range(n):
        price = 0.0 if np.isnan(last[i]) else last[i]
        entry = price if np.isnan(avg[i]) else avg[i]
        out[i] = min(max(pos[i] * price / equity, -clip), clip)
        out[n + i] = min(max(pos[i] * (price - entry) / equity, -clip), clip)
    out[2 * n] = min(max(cash / equity, -clip), clip)


@njit(cache=True)
def observe_into(
    out: Obs,
    flat: Obs,
    row: int,
    pos: FloatArray,
    avg: FloatArray,
    last: FloatArray,
    cash: float,
    equity: float,
    clip: float,
) -> None:  # pragma: no cover (numba)
    """``out`` = [``flat[row]``, ``account_state`` clipped]: an observation (``equity`` > 0)."""
    nf = flat.shape[1]
    out[:nf] = flat[row]
    _account(out[nf:], pos, avg, last, cash, equity, clip)


def observation(features: Obs, account: FloatArray, clip: float) -> Obs:
    """One observation from cleaned feature values [N, F] and ``account_state``."""
    acc = np.clip(account.astype(np.float32), -clip, clip)
    return np.concatenate((features.reshape(-1), acc))


def to_signals(action: Any, cfg: EnvConfig, n_symbols: int) -> Signals:
    """The Signals an action stands for (see the module docstring); an action outside
    the action space (another size, a discrete value other than 0, 1, 2, a NaN weight)
    is a ValueError."""
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.size != n_symbols:
        raise ValueError(f"action: {n_symbols} values expected (one per symbol), got {a.size}")
    if cfg.action == "continuous":
        if np.isnan(a).any():
            raise ValueError(f"action: continuous weights must be numbers, got {a}")
        w = np.round(np.clip(a, -1.0, 1.0) / cfg.weight_step) * cfg.weight_step
        if not cfg.allow_short:
            w = np.maximum(w, 0.0)
        return Signals(np.sign(w), confidence=np.abs(w))
    if not ((a == 0.0) | (a == 1.0) | (a == 2.0)).all():
        raise ValueError(f"action: 0 (short), 1 (flat) or 2 (long) per symbol, got {a}")
    d = a - 1.0
    if not cfg.allow_short:
        d = np.maximum(d, 0.0)
    return Signals(d)
