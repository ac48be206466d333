"""Portfolio guards, evaluated after every bar on the marked book (equity E_t). Each
firing is a RiskEvent (kind in brackets):

- daily loss [``daily_loss_limit``]: 1 - E_t / E(last step of the previous session)
  >= ``daily_loss_limit`` -> no new risk for the rest of the session;
- circuit breaker [``circuit_breaker``]: 1 - E_t / E(session open) >=
  ``intraday_loss_limit`` -> no new risk for the rest of the session;
- kill switch [``kill_switch``]: drawdown 1 - E_t / max(E_0..E_t) >= ``max_drawdown``
  (on the first such bar) -> flatten everything and halt the strategy;
- stale data [``stale_data``]: a held symbol has had no bar for ``bars`` steps -> no
  increase of it (``block``), or also close it (``flatten``), until a bar arrives;
- error burst [``error_burst``]: ``count`` venue rejections within ``window`` bars ->
  halt;
- auto-disable [``strategy_disabled``]: drawdown >= ``auto_disable.max_drawdown``, or
  the strategy's return over ``window`` bars trails the equal-weight buy-and-hold of the
  universe (from prices only) by more than ``underperformance`` for ``patience`` bars in
  a row -> flatten and halt (``action: flatten``) or halt.

The session open equity is the first bar's book valued at that bar's opens (so the
circuit breaker ignores the overnight gap that the daily loss limit sees). Sessions are
``BarSlice.session`` (local dates in ``data.session_tz``): with daily bars "the rest of
the session" is the decision at that bar's close.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt
from numba import njit

from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.engine.stages import GuardAction, RiskEvent
from alphapulse.risk.config import GuardsConfig

HALT_KINDS = ("kill_switch", "error_burst", "strategy_disabled")
# every GuardAction, indexed by 4 x flatten + 2 x halt + block_new_risk (immutable)
_ACTIONS = tuple(GuardAction(bool(i & 4), bool(i & 2), bool(i & 1)) for i in range(8))
_GO_ON = (False, False)  # (flatten, halt) of a bar on which no halting guard fired


class PortfolioGuards:
    """State and rules of the guards above, one instance per strategy."""

    def __init__(self, cfg: GuardsConfig, n_symbols: int) -> None:
        self.cfg = cfg
        self.peak = math.nan
        self.halted = False
        self._session: int | None = None
        self._last_equity = math.nan
        self._day_ref = math.nan
        self._open_equity = math.nan
        self._day_blocked = False
        self._circuit = False
        self._missing = np.zeros(n_symbols, dtype=np.int64)
        self.stale = np.zeros(n_symbols, dtype=bool)  # updated in place each bar
        self._new_stale = np.zeros(n_symbols, dtype=np.int64)
        self._rejections: deque[int] = deque()
        ad = cfg.auto_disable
        self._equity_window: deque[float] = deque(maxlen=(ad.window + 1) if ad else 1)
        self._streak = 0
        self._events: list[RiskEvent] = []  # the current bar's events (``_event``)
        self._ts = 0  # the current bar's time

    @property
    def drawdown(self) -> float:
        return 1.0 - self._last_equity / self.peak if self.peak > 0 else 0.0

    def on_bar(
        self, bar: BarSlice, ctx: Context, venue_rejections: int = 0
    ) -> tuple[GuardAction, list[RiskEvent], list[int]]:
        """Evaluate every guard; returns the action, the events and the symbols to close."""
        events: list[RiskEvent] = []
        self._events, self._ts = events, bar.ts_ns
        eq = ctx.equity
        if bar.session != self._session:
            self._new_session(bar, ctx)
        self._last_equity = eq
        self.peak = eq if not self.peak >= eq else self.peak
        self._session_guards(eq)
        flatten_sids = self._stale_guard(bar, ctx) if self.cfg.stale_data is not None else []
        flatten, halt = self._halting_guards(bar, ctx, eq, venue_rejections)
        if self.halted and not halt:
            halt = True  # stays halted
        block = self._day_blocked or self._circuit
        return _ACTIONS[4 * flatten + 2 * halt + block], events, flatten_sids

    def _event(self, kind: str, reason: str, detail: str = "", symbol: str = "") -> None:
        self._events.append(RiskEvent(self._ts, kind, reason, symbol=symbol, detail=detail))

    # -- sessions: daily loss and circuit breaker -------------------------------------
    def _new_session(self, bar: BarSlice, ctx: Context) -> None:
        self._session = bar.session
        self._day_ref = self._last_equity if math.isfinite(self._last_equity) else ctx.equity
        opens = np.where(np.isfinite(bar.open), bar.open, ctx.last_prices)
        mv = np.where(ctx.positions != 0.0, ctx.positions * np.nan_to_num(opens), 0.0)
        self._open_equity = ctx.cash + float(mv.sum())
        self._day_blocked = False
        self._circuit = False

    def _session_guards(self, eq: float) -> None:
        c = self.cfg
        if c.daily_loss_limit is not None and not self._day_blocked and self._day_ref > 0:
            loss = 1.0 - eq / self._day_ref
            if loss >= c.daily_loss_limit:
                self._day_blocked = True
                self._event(
                    "daily_loss_limit", "daily_loss", f"loss {loss:.4%} >= {c.daily_loss_limit:.2%}"
                )
        if c.intraday_loss_limit is not None and not self._circuit and self._open_equity > 0:
            loss = 1.0 - eq / self._open_equity
            if loss >= c.intraday_loss_limit:
                self._circuit = True
                self._event(
                    "circuit_breaker",
                    "intraday_loss",
                    f"loss from session open {loss:.4%} >= {c.intraday_loss_limit:.2%}",
                )

    # -- stale data -------------------------------------------------------------------
    def _stale_guard(self, bar: BarSlice, ctx: Context) -> list[int]:
        cfg = self.cfg.stale_data
        if cfg is None:
            return []
        new = self._new_stale
        k = _stale_step(bar.close, ctx.positions, cfg.bars, self._missing, self.stale, new)
        if not k:
            return []
        new = new[:k]
        for sid in new:
            self._event(
                "stale_data",
                "stale_data",
                f"no bar for {int(self._missing[sid])} steps; action {cfg.action}",
                symbol=ctx.symbols[sid],
            )
        return [int(s) for s in new] if cfg.action == "flatten" else []

    # -- kill switch, error burst, auto-disable ---------------------------------------
    def _halting_guards(
        self, bar: BarSlice, ctx: Context, eq: float, rejections: int
    ) -> tuple[bool, bool]:
        if self.halted:
            self._equity_window.append(eq)
            return False, True
        c = self.cfg
        dd = self.drawdown
        if c.max_drawdown is not None and dd >= c.max_drawdown:
            self.halted = True
            self._event("kill_switch", "max_drawdown", f"drawdown {dd:.4%} >= {c.max_drawdown:.2%}")
            return True, True
        if c.error_burst is not None and (rejections or self._rejections):
            eb = c.error_burst
            self._rejections.extend([bar.t] * rejections)
            while self._rejections and self._rejections[0] <= bar.t - eb.window:
                self._rejections.popleft()
            if len(self._rejections) >= eb.count:
                self.halted = True
                self._event(
                    "error_burst",
                    "venue_rejections",
                    f"{len(self._rejections)} venue rejections within {eb.window} bars",
                )
                return False, True
        return self._auto_disable(ctx, eq, dd) if c.auto_disable is not None else _GO_ON

    def _auto_disable(self, ctx: Context, eq: float, dd: float) -> tuple[bool, bool]:
        ad = self.cfg.auto_disable
        if ad is None:
            return False, False
        self._equity_window.append(eq)
        why = ""
        if ad.max_drawdown is not None and dd >= ad.max_drawdown:
            why, detail = "drawdown", f"drawdown {dd:.4%} >= {ad.max_drawdown:.2%}"
        elif ad.underperformance is not None and len(self._equity_window) == ad.window + 1:
            gap = self._relative_return(ctx, ad.window)
            self._streak = self._streak + 1 if gap < -ad.underperformance else 0
            if self._streak >= ad.patience:
                why = "underperformance"
                detail = (
                    f"return vs equal-weight buy-and-hold {gap:.4%} < -{ad.underperformance:.2%}"
                    f" for {self._streak} bars"
                )
        if not why:
            return False, False
        self.halted = True
        self._event("strategy_disabled", why, detail)
        return ad.action == "flatten", True

    def _relative_return(self, ctx: Context, window: int) -> float:
        """Strategy return minus the equal-weight buy-and-hold return over ``window``."""
        strat = self._equity_window[-1] / self._equity_window[0] - 1.0
        p = ctx.prices(window + 1)
        if p.shape[0] < window + 1:
            return 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = p[-1] / p[0]
        ok = np.isfinite(rel)
        bench = float(rel[ok].mean()) - 1.0 if ok.any() else 0.0
        return strat - bench


@njit(cache=True)
def _stale_step(
    close: npt.NDArray[np.float64],
    positions: npt.NDArray[np.float64],
    bars: int,
    missing: npt.NDArray[np.int64],
    stale: npt.NDArray[np.bool_],
    new: npt.NDArray[np.int64],
) -> int:
    """One bar of the stale-data guard, in place: ``missing`` counts steps without a bar,
    ``stale`` = held and missing >= ``bars``; the symbols that just turned stale go to
    ``new`` (ascending), their count is returned."""
    k = 0
    for i in range(close.shape[0]):
        missing[i] = 0 if np.isfinite(close[i]) else missing[i] + 1
        now = positions[i] != 0.0 and missing[i] >= bars
        if now and not stale[i]:
            new[k] = i
            k += 1
        stale[i] = now
    return k
