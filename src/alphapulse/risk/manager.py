"""The configured risk stage: pre-trade checks, bracket stops, portfolio guards and
per-step risk measures behind the engine's ``RiskManager`` protocol.

All state lives in the instance (one per strategy run), so a backtest and a paper
session drive it the same way: ``on_bar`` once per step after the marks, then
``adjust_targets`` / ``check_order`` for that step's decisions, ``on_fill`` for every
fill. Two optional hooks the engine calls when present: ``flatten_symbols`` (symbols a
guard wants closed) and ``amend_orders`` (trailing stops, bracket reconciliation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alphapulse.anomaly.config import AnomalyConfig
from alphapulse.core.errors import ConfigError
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.engine.planner import no_opinion
from alphapulse.engine.stages import GuardAction, OrderAmend, OrderCheck, RiskEvent, Verdict
from alphapulse.model.orders import Fill, Order, OrderStatus, OrderType
from alphapulse.model.signals import Targets
from alphapulse.portfolio.estimators import atr_at
from alphapulse.risk.checks import PreTradeChecks, StepBook, cap_targets
from alphapulse.risk.config import RiskConfig
from alphapulse.risk.guards import PortfolioGuards
from alphapulse.risk.measures import RiskMeasures
from alphapulse.risk.stops import ExtremeTracker, bracket_prices, reconcile, trail

if TYPE_CHECKING:
    from alphapulse.risk.anomaly_reaction import AnomalyReaction

FloatArray = npt.NDArray[np.float64]
_F64 = np.dtype(np.float64)


class StandardRiskManager:
    """Limits, stops, guards and measures from a ``RiskConfig``."""

    def __init__(
        self,
        cfg: RiskConfig,
        symbols: tuple[str, ...],
        *,
        allow_short: bool = False,
        lot_size: float = 1.0,
        anomalies: AnomalyConfig | None = None,
    ) -> None:
        n = len(symbols)
        self.cfg = cfg
        self.symbols = symbols
        self.lot_size = lot_size
        self.checks = PreTradeChecks(
            cfg.limits, symbols, allow_short=allow_short, lot_size=lot_size
        )
        self.guards = PortfolioGuards(cfg.guards, n)
        self.extremes = ExtremeTracker(n)
        m = cfg.measures
        bench = None
        if m.benchmark is not None:
            if m.benchmark not in symbols:
                raise ConfigError(f"risk.measures.benchmark {m.benchmark!r} is not in the universe")
            bench = symbols.index(m.benchmark)
        self.measures = RiskMeasures(m.window, m.min_periods, bench) if m.enabled else None
        self.trailing_updates = 0
        self._events: list[RiskEvent] = []
        self._book: StepBook | None = None
        self._tracked: list[Order] = []  # accepted orders, watched for venue rejections
        self._flatten: list[int] = []
        self._cooldown_until = np.full(n, -1, dtype=np.int64)
        self._capped_at = np.full(n, np.nan)  # last reported capped target per symbol
        self._atr: tuple[int, FloatArray] | None = None
        self._uses_atr = _uses_atr(cfg)
        self._trailing = cfg.stops.trailing
        self.anomaly = _anomaly_reaction(anomalies, symbols)

    # -- RiskManager protocol ---------------------------------------------------------
    def on_bar(self, bar: BarSlice, ctx: Context) -> GuardAction:
        self._book = None  # the step's book: made by the first check_order of the step
        if self._trailing:  # the extremes only move trailing stops
            self.extremes.update(ctx.positions, ctx.last_prices)
        rejected = self._venue_rejections(bar) if self._tracked else 0
        action, events, flatten = self.guards.on_bar(bar, ctx, rejected)
        if events:
            self._events.extend(events)
        self._flatten = flatten
        if self.anomaly is not None:  # anomalies.reaction: block / flatten (risk/anomaly_reaction)
            events, flat = self.anomaly.on_bar(bar)
            self._events.extend(events)
            self._flatten.extend(s for s in flat if s not in self._flatten)
        if self.measures is not None:
            self.measures.update(ctx)
        return action

    @property
    def passes_no_opinion(self) -> bool:
        """True when ``adjust_targets`` returns all-NaN targets as they are, with no event
        and no state change (no anomaly reaction): an engine may then skip construction,
        capping and planning on a step without any opinion, as for the pass-through stage."""
        return self.anomaly is None

    def adjust_targets(self, targets: Targets, ctx: Context) -> Targets:
        """Cap targets to the position/group/gross limits; no re-entry while a stopped-out
        symbol cools down; stale symbols may only shrink."""
        w = targets.weights
        if self.anomaly is None and w.dtype == _F64 and no_opinion(w):
            return targets  # no target anywhere: nothing to block or cap
        w = np.array(w, dtype=np.float64)
        cooling = (self._cooldown_until >= ctx.t) & (ctx.positions == 0.0)
        if self.anomaly is not None:  # blocked symbols keep what they hold (or exit)
            w[self.anomaly.frozen(ctx.t, w)] = np.nan
        w[cooling & ~np.isnan(w) & (w != 0.0)] = np.nan
        stale = self.guards.stale
        if stale.any():  # stale symbols: only reductions (none while a flatten works)
            cur = ctx.weights()
            with np.errstate(invalid="ignore"):
                grows = (np.sign(w) != np.sign(cur)) & (w != 0.0) | (np.abs(w) > np.abs(cur))
            flat_action = self.cfg.guards.stale_data is not None and (
                self.cfg.guards.stale_data.action == "flatten"
            )
            w[stale & (grows | flat_action)] = np.nan
        capped, hit = cap_targets(w, self.cfg.limits, self.checks.groups)
        if hit:
            self._report_caps(w, capped, ",".join(hit), ctx.ts_ns)
        return Targets(capped)

    def _report_caps(self, w: FloatArray, capped: FloatArray, reason: str, ts_ns: int) -> None:
        """A ``target_resized`` event per symbol whose target a limit cut, once per new
        capped value (a strategy repeating its target does not repeat the event)."""
        with np.errstate(invalid="ignore"):
            cut = ~np.isnan(w) & (np.abs(w - capped) > 1e-12)
            new = cut & ~(np.abs(capped - self._capped_at) <= 1e-12)
        for sid in np.flatnonzero(new):
            self._capped_at[sid] = capped[sid]
            self._events.append(
                RiskEvent(
                    ts_ns,
                    "target_resized",
                    reason,
                    symbol=self.symbols[sid],
                    detail=f"weight {w[sid]:.6g} -> {capped[sid]:.6g}",
                )
            )

    def check_order(self, order: Order, ctx: Context) -> OrderCheck:
        book = self._book
        if book is None or book.ts_ns != ctx.ts_ns:
            book = self._book = StepBook.of(ctx)
        q0 = order.notional if order.notional is not None else order.quantity
        d = self.checks.check(order, ctx, book, self._blocked(order.sid, ctx))
        check = d.check
        if check.verdict != Verdict.REJECT:
            self.checks.commit(order, d, ctx, book)
            if d.increase > 0:
                self._attach_brackets(order, ctx)
            self._tracked.append(order)
        if check.verdict != Verdict.ACCEPT:
            new = check.notional if check.notional is not None else check.quantity
            kind = "order_rejected" if check.verdict == Verdict.REJECT else "order_resized"
            what = "notional" if order.notional is not None else "quantity"
            self._events.append(
                RiskEvent(
                    ctx.ts_ns,
                    kind,
                    check.reason,
                    symbol=order.symbol,
                    order_id=order.id,
                    # 12 digits: a resize (at least 1e-9 of the order) always shows
                    detail=f"{what} {q0:.12g} -> {0.0 if new is None else new:.12g}",
                )
            )
        return check

    def on_fill(self, fill: Fill, ctx: Context) -> None:
        for role in ("stop_loss", "take_profit"):
            if fill.tag == role or fill.tag.endswith(":" + role):
                if role == "stop_loss":
                    until = fill.bar_index + self.cfg.stops.cooldown_bars
                    self._cooldown_until[fill.sid] = until if self.cfg.stops.cooldown_bars else -1
                self._events.append(
                    RiskEvent(
                        fill.ts_ns,
                        role,
                        "exit",
                        symbol=fill.symbol,
                        order_id=fill.order_id,
                        detail=f"{fill.quantity:.6g} @ {fill.price:.6g}",
                    )
                )

    def events(self) -> list[RiskEvent]:
        return list(self._events)

    # -- engine hooks -----------------------------------------------------------------
    def flatten_symbols(self, ctx: Context) -> list[int]:
        """Symbols a guard wants closed at this step (each reported once)."""
        out, self._flatten = self._flatten, []
        return out

    def amend_orders(self, ctx: Context, open_orders: list[Order]) -> list[OrderAmend]:
        """Bracket reconciliation and trailing stops for the working orders."""
        by_sid: dict[int, list[Order]] = {}
        for o in open_orders:
            by_sid.setdefault(o.sid, []).append(o)
        out: list[OrderAmend] = []
        stops = self.cfg.stops
        for sid, orders in by_sid.items():
            if not any(o.parent_id is not None for o in orders):
                continue
            fixes = reconcile(float(ctx.positions[sid]), orders, self.lot_size)
            out.extend(fixes)
            if not stops.trailing:
                continue
            gone = {a.order_id for a in fixes if a.cancel}
            atr = float(self._atr_now(ctx)[sid]) if self._uses_atr else float("nan")
            for o in orders:
                if o.parent_id is None or o.id in gone or o.type != OrderType.STOP:
                    continue
                new = trail(stops, o, float(self.extremes.extreme[sid]), atr)
                if new is not None:
                    self.trailing_updates += 1
                    out.append(OrderAmend(o.id, sid, stop_price=new, reason="trailing"))
        return out

    def risk_measures(self) -> dict[str, FloatArray]:
        """Per-step measure columns (empty when measures are off)."""
        return self.measures.columns() if self.measures is not None else {}

    # -- internals --------------------------------------------------------------------
    def _blocked(self, sid: int, ctx: Context) -> str | None:
        if self.guards.stale[sid]:
            return "stale_data"
        if self._cooldown_until[sid] >= ctx.t:
            return "stop_cooldown"
        if self.anomaly is not None and self.anomaly.blocked_until[sid] >= ctx.t:
            return "anomaly_block"
        return None

    def _atr_now(self, ctx: Context) -> FloatArray:
        if self._atr is None or self._atr[0] != ctx.ts_ns:
            self._atr = (ctx.ts_ns, atr_at(ctx, self.cfg.stops.atr_window))
        return self._atr[1]

    def _attach_brackets(self, order: Order, ctx: Context) -> None:
        stops = self.cfg.stops
        if stops.stop_loss is None and stops.take_profit is None:
            return
        if order.stop_loss is not None or order.take_profit is not None:
            return
        price = float(ctx.last_prices[order.sid])
        atr = float(self._atr_now(ctx)[order.sid]) if self._uses_atr else float("nan")
        sl, tp = bracket_prices(stops, order.side, price, atr)
        order.stop_loss, order.take_profit = sl, tp

    def _venue_rejections(self, bar: BarSlice) -> int:
        n = 0
        still: list[Order] = []
        for o in self._tracked:
            if o.status == OrderStatus.REJECTED:
                n += 1
                self._events.append(
                    RiskEvent(bar.ts_ns, "venue_rejected", o.reason, symbol=o.symbol, order_id=o.id)
                )
            elif o.is_open:
                still.append(o)
        self._tracked = still
        return n


def _anomaly_reaction(
    cfg: AnomalyConfig | None, symbols: tuple[str, ...]
) -> AnomalyReaction | None:
    if cfg is None or cfg.reaction is None:
        return None
    from alphapulse.risk.anomaly_reaction import AnomalyReaction

    return AnomalyReaction(cfg, symbols)


def _uses_atr(cfg: RiskConfig) -> bool:
    s = cfg.stops
    return any(r is not None and r.method == "atr" for r in (s.stop_loss, s.take_profit))
