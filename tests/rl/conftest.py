"""Synthetic panels and configs for the RL tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.data.panel import Panel
from alphapulse.rl.config import RLConfig

DAY = 86_400 * 10**9
T0 = 1_600_000_000 * 10**9


def make_panel(closes: np.ndarray, seed: int = 0) -> Panel:
    """Daily bars around ``closes`` [T, N]: open near the previous close, ample volume."""
    rng = np.random.default_rng(seed)
    t, n = closes.shape
    ts = (T0 + np.arange(t) * DAY).astype(np.int64)
    prev = np.vstack([closes[:1], closes[:-1]])
    o = prev * (1 + rng.normal(0, 0.001, (t, n)))
    h, lo = np.maximum(o, closes) * 1.002, np.minimum(o, closes) * 0.998
    fields = {"open": o, "high": h, "low": lo, "close": closes, "volume": np.full((t, n), 1e8)}
    return Panel(ts, tuple(f"S{i}" for i in range(n)), fields)


def random_walk(t: int, n: int, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    return make_panel(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (t, n)), axis=0)), seed)


def trend(t: int = 400, n: int = 1, drift: float = 0.01) -> Panel:
    """A deterministic trend: every bar closes ``drift`` (log) above the last."""
    closes = 100 * np.exp(drift * np.arange(t))[:, None] * np.ones((1, n))
    return make_panel(closes)


def day(panel: Panel, row: int) -> str:
    return str(pd.Timestamp(panel.timestamps[row]).date())


def rl_config(panel: Panel, train_row: int, valid_row: int | None = None, **over: Any) -> RLConfig:
    raw: dict[str, Any] = {
        "data": {"source": "synthetic"},
        "train_end": day(panel, train_row),
        "execution": {
            "commission": {"model": "percent", "rate": 0.0005},
            "slippage": {"model": "fixed_bps", "bps": 2},
        },
        "env": {"episode_bars": 60, "warmup_bars": 30},
        "learn": {"total_timesteps": 1024, "n_steps": 128, "eval_every": 512, "progress": False},
    }
    if valid_row is not None:
        raw["valid_end"] = day(panel, valid_row)
    for key, value in over.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return RLConfig.model_validate(raw)


@pytest.fixture(scope="module")
def walk() -> Panel:
    return random_walk(300, 2)
