"""The narrow interfaces between pipeline stages.

strategy -> Signals -> PortfolioConstructor -> Targets -> RiskManager.adjust_targets
-> order planner -> RiskManager.check_order (each order) -> venue -> Fills -> ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import Context
from alphapulse.model.orders import Fill, Order
from alphapulse.model.signals import Signals, Targets

FloatArray = npt.NDArray[np.float64]


class PortfolioConstructor(Protocol):
    """Turns a strategy's signals into target weights."""

    def construct(self, signals: Signals, ctx: Context) -> Targets: ...


class Verdict(StrEnum):
    ACCEPT = "accept"
    RESIZE = "resize"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class OrderCheck:
    """The risk stage's answer for one order; ``quantity`` is the (possibly reduced)
    size when RESIZE. ``reason`` is a stable reason code, e.g. ``max_position``."""

    verdict: Verdict
    quantity: float | None = None  # new quantity for a RESIZE of a quantity order
    notional: float | None = None  # new cash budget for a RESIZE of a notional order
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """Something the risk stage did or saw: a rejection, a resize, a guard firing."""

    ts_ns: int
    kind: str  # e.g. "order_rejected", "order_resized", "kill_switch", "daily_loss_halt"
    reason: str
    symbol: str = ""
    order_id: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OrderAmend:
    """A change the engine applies to a working order: new stop price, smaller quantity
    (total, filled part included) or cancellation."""

    order_id: int
    sid: int
    stop_price: float | None = None
    quantity: float | None = None
    cancel: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GuardAction:
    """What the risk stage demands of the engine after a bar."""

    flatten: bool = False  # close every position now
    halt: bool = False  # no new orders for the rest of the run
    block_new_risk: bool = False  # only orders that reduce exposure, for this step


class RiskManager(Protocol):
    """Adjusts targets, checks each order before it reaches the venue, and guards the
    portfolio after each bar. Every decision is also reported as a RiskEvent. Optional
    attributes an engine reads: ``inert`` (never called, see PassThroughRisk) and
    ``passes_no_opinion`` (steps without any opinion skip construction and planning)."""

    def on_bar(self, bar: BarSlice, ctx: Context) -> GuardAction: ...

    def adjust_targets(self, targets: Targets, ctx: Context) -> Targets: ...

    def check_order(self, order: Order, ctx: Context) -> OrderCheck: ...

    def on_fill(self, fill: Fill, ctx: Context) -> None: ...

    def events(self) -> list[RiskEvent]: ...

    def flatten_symbols(self, ctx: Context) -> list[int]:
        """Symbols whose positions must be closed now (e.g. stale data)."""
        ...

    def amend_orders(self, ctx: Context, open_orders: list[Order]) -> list[OrderAmend]:
        """Changes to working orders (trailing stops, exits sized to the position)."""
        ...

    def risk_measures(self) -> dict[str, FloatArray]:
        """Per-step measure columns, one value per step so far."""
        ...


class PassThroughRisk:
    """The default risk stage: accepts everything. ``inert``: it never guards, changes,
    rejects, amends or watches anything, so an engine may skip calling it (a stage
    without the attribute is called every time); ``passes_no_opinion`` as
    ``StandardRiskManager.passes_no_opinion``."""

    inert = True
    passes_no_opinion = True

    def on_bar(self, bar: BarSlice, ctx: Context) -> GuardAction:
        return GuardAction()

    def adjust_targets(self, targets: Targets, ctx: Context) -> Targets:
        return targets

    def check_order(self, order: Order, ctx: Context) -> OrderCheck:
        return OrderCheck(Verdict.ACCEPT)

    def on_fill(self, fill: Fill, ctx: Context) -> None:
        return None

    def events(self) -> list[RiskEvent]:
        return []

    def flatten_symbols(self, ctx: Context) -> list[int]:
        return []

    def amend_orders(self, ctx: Context, open_orders: list[Order]) -> list[OrderAmend]:
        return []

    def risk_measures(self) -> dict[str, FloatArray]:
        return {}
