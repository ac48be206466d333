"""Rebalancing rules around any constructor: when to trade towards the targets.

- Schedule: a *rebalance bar* comes every ``every`` bars (counted from the previous
  one), or, with ``calendar`` (D/W/M/Q/Y), at the first bar of each new period in the
  session time zone; daily bars (every one so far at 00:00 UTC: a session date) by their
  date. The first call is always one. Between rebalance bars only symbols whose signal
  changed (entry, exit, flip) get a target; the rest drift (NaN).
- Drift threshold: a symbol held on the target's side is traded only when
  ``|current weight - target| > drift_threshold``; entries and exits always trade.
- Minimum trade size and lot rounding are the order planner's (``min_trade_value``,
  ``execution.lot_size``): with rebalancing on, the planner trades towards every non-NaN
  target (not only changed ones), so drift is corrected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphapulse.engine.context import Context
from alphapulse.engine.stages import PortfolioConstructor
from alphapulse.model.signals import Signals, Targets

_PERIODS = ("D", "W", "M", "Q", "Y")
_DAY_NS = 86_400_000_000_000


def period_key(ts_ns: int, calendar: str, tz: str = "UTC") -> int:
    """An integer that changes exactly when the calendar period of ``ts_ns`` changes."""
    stamp = pd.Timestamp(ts_ns, unit="ns", tz="UTC").tz_convert(tz)
    if calendar == "D":
        return stamp.year * 1000 + stamp.dayofyear
    if calendar == "W":
        iso = stamp.isocalendar()
        return int(iso[0]) * 100 + int(iso[1])
    if calendar == "M":
        return stamp.year * 12 + stamp.month
    if calendar == "Q":
        return stamp.year * 4 + (stamp.month - 1) // 3
    if calendar == "Y":
        return stamp.year
    raise ValueError(f"unknown calendar period {calendar!r}")


class Rebalancer:
    """Wraps a constructor with a rebalance schedule and a drift threshold."""

    def __init__(
        self,
        inner: PortfolioConstructor,
        *,
        every: int = 1,
        calendar: str | None = None,
        drift_threshold: float = 0.0,
        tz: str = "UTC",
    ) -> None:
        if calendar is not None and calendar not in _PERIODS:
            raise ValueError(f"unknown calendar period {calendar!r}")
        self.inner = inner
        self.every = every
        self.calendar = calendar
        self.drift_threshold = drift_threshold
        self.tz = tz
        self._last_t: int | None = None
        self._last_ts = 0  # the last rebalance bar's time
        self._intraday = False  # a bar off 00:00 UTC seen: stamps are instants, not dates
        self._last_key: tuple[str, int] | None = None  # (zone, period) of the last rebalance
        self._last_dir: np.ndarray | None = None
        self.n_rebalances = 0

    def is_due(self, ctx: Context) -> bool:
        """Whether ``ctx``'s bar is a rebalance bar (does not change state)."""
        if self._last_t is None:
            return True
        if self.calendar is not None:
            tz = self.tz if self._intraday or ctx.ts_ns % _DAY_NS else "UTC"
            if self._last_key is None or self._last_key[0] != tz:  # (once per rebalance)
                self._last_key = tz, period_key(self._last_ts, self.calendar, tz)
            return period_key(ctx.ts_ns, self.calendar, tz) != self._last_key[1]
        return ctx.t - self._last_t >= self.every

    def construct(self, signals: Signals, ctx: Context) -> Targets:
        d = np.sign(np.asarray(signals.direction, dtype=np.float64))
        last = self._last_dir if self._last_dir is not None else np.full(d.shape, np.nan)
        changed = ~np.isnan(d) & (np.isnan(last) | (d != last))
        self._last_dir = np.where(np.isnan(d), last, d)
        due = self.is_due(ctx)
        self._intraday = self._intraday or ctx.ts_ns % _DAY_NS != 0
        if not due and not changed.any():
            return Targets(np.full(d.shape, np.nan))
        w = np.array(self.inner.construct(signals, ctx).weights, dtype=np.float64)
        if due:
            self._last_t, self._last_ts, self._last_key = ctx.t, ctx.ts_ns, None
            self.n_rebalances += 1
        else:
            w[~changed] = np.nan
        return Targets(self.apply_drift(w, ctx))

    def apply_drift(self, w: np.ndarray, ctx: Context) -> np.ndarray:
        """NaN out targets within ``drift_threshold`` of a same-side current weight."""
        if self.drift_threshold <= 0:
            return w
        cur = ctx.weights()
        with np.errstate(invalid="ignore"):
            same_side = (cur != 0.0) & (np.sign(cur) == np.sign(w))
            close = np.abs(cur - w) <= self.drift_threshold
        return np.where(same_side & close, np.nan, w)
