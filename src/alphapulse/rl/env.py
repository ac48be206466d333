"""A Gymnasium environment whose step is one step of the backtest engine.

Each episode builds a fresh engine with ``engine.runner.make_engine`` (the configured
simulated venue: commission, slippage, partial fills, latency; the risk stage; the
ledger) and drives it with ``Engine.step``, one bar per environment step. The policy's
action becomes the engine strategy's Signals at that bar (``ActionStrategy``), so orders
go through portfolio construction, the risk stage and the venue exactly as in a backtest.

Reward per step (``reward_scale`` x): ``pnl`` the change in equity after costs divided
by the initial cash; ``drawdown`` that minus ``drawdown_penalty`` x the drawdown from the
episode's peak equity (as a fraction of the initial cash); ``dsr`` the differential
Sharpe ratio (Moody and Saffell) of the step's return. ``info`` reports ``equity``,
``penalty`` (the drawdown term, unscaled), ``fees`` and ``bar`` (the ledger has the rest:
``env.engine.ledger``).

The step does no per-step feature work: the cleaned causal feature matrix is computed once
(flattened per bar) and revealed by index; the account part is written by a numba kernel
(``observe.fill_account``); discrete actions map to Signals made once per action.

Episodes are windows of ``episode_bars`` bars starting at a random bar (from the
environment's seeded generator) of the row range ``rows``, at least ``warmup_bars`` after
its start; ``fixed_start`` runs the whole range once (validation, evaluation). An
episode is ``terminated`` only by ruin (equity <= 0); reaching the window's last bar
``truncates`` it (a time limit: learners bootstrap the value of what follows).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from alphapulse.config import BacktestConfig, StrategyConfig
from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed, session_ids
from alphapulse.engine.loop import Engine
from alphapulse.engine.runner import make_engine
from alphapulse.features import compute_features
from alphapulse.model.signals import Signals
from alphapulse.rl.config import EnvConfig
from alphapulse.rl.observe import (
    Obs,
    action_space,
    clean_features,
    fill_account,
    observation_space,
    observe_into,
    to_signals,
)
from alphapulse.strategies.base import Strategy

_ACTOR = "alphapulse.rl.env:ActionStrategy"


class ActionStrategy(Strategy):
    """The engine's strategy inside the environment: returns the Signals the environment
    set for this bar and keeps the Context it was given (the book at the decision)."""

    def __init__(self, params: Any = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.signals: Signals | None = None
        self.seen: Context | None = None

    def on_bar(self, ctx: Context) -> Signals | None:
        self.seen = ctx
        return self.signals


class TradingEnv(gym.Env[Any, Any]):
    """See the module docstring. ``rows``: the [start, stop) bar range episodes use."""

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        panel: Panel,
        backtest: BacktestConfig,
        cfg: EnvConfig,
        rows: tuple[int, int] | None = None,
        *,
        fixed_start: bool = False,
        features: Obs | None = None,
    ) -> None:
        self.panel = panel
        self.backtest = backtest.model_copy(
            update={"strategies": [StrategyConfig(strategy=_ACTOR)]}
        )
        self.cfg = cfg
        lo, hi = rows if rows is not None else (0, panel.n_bars)
        if not 0 <= lo < hi <= panel.n_bars:
            raise ValueError(f"rows {rows} outside the panel's {panel.n_bars} bars")
        self.rows = (lo, hi)
        self.fixed_start = fixed_start
        first = lo if fixed_start else lo + cfg.warmup_bars
        self.length = hi - first if fixed_start else min(cfg.episode_bars, hi - first)
        if self.length < 2:
            raise ValueError(
                f"rows {lo}..{hi}: fewer than 2 bars after warmup_bars {cfg.warmup_bars}"
            )
        self._first, self._last_start = first, hi - self.length
        n = panel.n_symbols
        if features is None:
            fm = compute_features(panel, cfg.feature_set())
            features = clean_features(fm.values, cfg.clip)
        self.features = features  # [T, N, F] float32, cleaned
        self._flat = np.ascontiguousarray(features.reshape(features.shape[0], -1))
        self._n_obs = self._flat.shape[1] + 2 * n + 1
        self._signals: dict[tuple[str, bytes], Signals] = {}
        self._reward = cfg.reward
        self._scale, self._dd_penalty = cfg.reward_scale, cfg.drawdown_penalty
        self._last_row = hi - 1  # an episode's end is observed at most at the range's end
        self.observation_space: gym.spaces.Space[Any] = observation_space(
            n, features.shape[2], cfg.clip
        )
        self.action_space = action_space(cfg, n)
        self._feed = PanelFeed(panel, backtest.data.session_tz)
        self._sessions = session_ids(panel.timestamps, backtest.data.session_tz)
        self._ohlcv = tuple(panel.fields[k] for k in ("open", "high", "low", "close", "volume"))
        self._ts_list: list[int] = panel.timestamps.tolist()  # Python ints, made once
        self._session_list: list[int] = self._sessions.tolist()
        self._cash0 = backtest.initial_cash
        self.engine: Engine | None = None
        self._actor = ActionStrategy()
        self._t = self._end = 0
        self._equity = self._peak = self._cash0
        self._dsr_a = self._dsr_b = 0.0

    # -- gymnasium API -------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        start = self._first
        if not self.fixed_start and self._last_start > self._first:
            start = int(self.np_random.integers(self._first, self._last_start + 1))
        self._t, self._end = start, start + self.length
        engine = make_engine(
            self.backtest, self.backtest.strategies[0], self.panel.symbols, self._feed.history
        )
        assert isinstance(engine.strategy, ActionStrategy)
        self.engine, self._actor = engine, engine.strategy
        self._equity = self._peak = self._cash0
        self._dsr_a = self._dsr_b = 0.0
        return self._observe(), self._info(0.0)

    def step(self, action: Any) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        engine = self.engine
        if engine is None:
            raise RuntimeError("call reset() before step()")
        t = self._t
        self._actor.signals = self._to_signals(action)
        o, h, lo, c, v = self._ohlcv
        self._feed.history.advance(t + 1)
        engine.step(
            BarSlice(t, self._ts_list[t], self._session_list[t], o[t], h[t], lo[t], c[t], v[t])
        )
        equity = engine.ledger.equity
        change = (equity - self._equity) / self._cash0
        if equity > self._peak:
            self._peak = equity
        penalty = (self._peak - equity) / self._cash0 if self._reward == "drawdown" else 0.0
        if self._reward == "dsr":
            raw = self._differential_sharpe((equity - self._equity) / self._equity)
        else:
            raw = change - self._dd_penalty * penalty
        self._equity = equity
        self._t = t + 1
        terminated = equity <= 0  # ruin ends the episode; the window's end only cuts it
        truncated = not terminated and self._t >= self._end
        reward = float(self._scale * raw)
        return self._observe(), reward, bool(terminated), bool(truncated), self._info(penalty)

    # -- internals -----------------------------------------------------------------------
    def _observe(self) -> Obs:
        row = min(self._t, self._last_row)  # the next decision's bar
        out = np.empty(self._n_obs, dtype=np.float32)
        ctx = self._actor.seen
        if ctx is None or ctx.equity <= 0:
            nf = self._flat.shape[1]
            out[:nf] = self._flat[row]
            fill_account(out[nf:], ctx, self.cfg.clip)
        else:  # the same values in one compiled call
            observe_into(out, self._flat, row, ctx.positions, ctx.avg_prices, ctx.last_prices,
                         ctx.cash, ctx.equity, self.cfg.clip)  # fmt: skip
        return out

    def _to_signals(self, action: Any) -> Signals:
        """``to_signals``; discrete actions' Signals are made once per distinct action."""
        if self.cfg.action == "continuous":
            return to_signals(action, self.cfg, self.panel.n_symbols)
        a = np.asarray(action)
        key = (a.dtype.str, a.tobytes())
        sig = self._signals.get(key)
        if sig is None:
            sig = self._signals[key] = to_signals(a, self.cfg, self.panel.n_symbols)
            sig.direction.flags.writeable = False  # shared across steps
        return sig

    def _info(self, penalty: float) -> dict[str, Any]:
        lg = self.engine.ledger if self.engine is not None else None
        fees = lg.total_fees if lg is not None else 0.0
        return {"equity": self._equity, "penalty": penalty, "fees": fees, "bar": self._t}

    def _differential_sharpe(self, r: float) -> float:
        """Moody-Saffell differential Sharpe ratio with EMA moments A, B (rate eta)."""
        a, b = self._dsr_a, self._dsr_b
        eta = self.cfg.dsr_eta
        da, db = r - a, r * r - b
        var = b - a * a
        d = (b * da - 0.5 * a * db) / var**1.5 if var > 1e-12 else 0.0
        self._dsr_a, self._dsr_b = a + eta * da, b + eta * db
        return float(d)
