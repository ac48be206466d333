"""Working parents' schedule state in per-symbol arrays (one working parent per symbol),
read by the compiled child pass of ``kernel.py``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alphapulse.engine.context import Context
from alphapulse.execution.algos import kernel as k
from alphapulse.execution.algos.children import PATIENCE
from alphapulse.execution.algos.config import ALGOS, AlgoConfig
from alphapulse.execution.algos.parent import ParentOrder
from alphapulse.execution.algos.state import MarketState

FloatArray = npt.NDArray[np.float64]
_MIN_NS = 60_000_000_000


class ParentBook:
    def __init__(self, cfg: AlgoConfig, n_symbols: int, lot: float, spread_bps: float) -> None:
        self.book = np.zeros((k.BOOK_ROWS, n_symbols))
        self.times = np.ones((2, n_symbols), dtype=np.int64)
        self.has_curve = np.zeros(n_symbols, dtype=np.int8)
        n_min = max(cfg.horizon_ns // _MIN_NS, 1)
        self.curves = np.zeros((n_symbols, n_min + 1))
        s = np.zeros(k.SETTINGS)
        s[k.RATE] = cfg.max_participation
        s[k.MIN_NOTIONAL] = cfg.min_child_notional
        s[k.SPREAD_BPS] = spread_bps
        s[k.PATIENCE_W] = PATIENCE[cfg.urgency]
        s[k.TIMEOUT] = cfg.limit_timeout
        s[k.PASSIVE] = float(cfg.passive)
        s[k.LEFTOVER_MARKET] = float(cfg.leftover == "market")
        s[k.LOT] = lot
        self.settings = s
        self._qty = np.zeros(n_symbols)
        self._limit = np.zeros(n_symbols)

    @classmethod
    def build(
        cls, cfg: AlgoConfig, n_symbols: int, lot: float, spread_bps: float
    ) -> ParentBook | None:
        """The book, or None for a fractional lot size (children are then sized in
        Python: ``round_to_lot``'s decimal rounding is not reproduced here)."""
        if not (lot >= 1.0 and float(lot).is_integer()):
            return None
        return cls(cfg, n_symbols, lot, spread_bps)

    def anchor(self, p: ParentOrder) -> None:
        """Copy a parent's (re)anchored schedule into the arrays."""
        sid, b = p.sid, self.book
        b[k.QTY, sid] = p.quantity
        b[k.BASE_FILLED, sid] = p.base_filled
        b[k.SCHED, sid] = p.sched_qty
        b[k.BASE_VOLUME, sid] = p.base_volume
        b[k.KAPPA, sid] = p.kappa_t
        b[k.SIDE, sid] = float(int(p.side))
        b[k.ALGO, sid] = float(ALGOS.index(p.algo))
        self.times[0, sid] = p.start_ns
        self.times[1, sid] = p.horizon_ns
        curve = p.curve if p.algo == "vwap" else None
        self.has_curve[sid] = curve is not None
        if curve is not None:  # (usually written into this row already: a cheap copy)
            self.curves[sid] = curve

    def plan(
        self,
        due: list[ParentOrder],
        ts_ns: int,
        dt_ns: int,
        every: int,
        last_call: bool,
        state: MarketState,
        ctx: Context,
    ) -> tuple[FloatArray, FloatArray]:
        """Child sizes (0: none) and limit prices (NaN: market) of the ``due`` parents."""
        n = len(due)
        pairs = [x for p in due for x in (p.sid, p.closed_filled)]  # one flat list: one read
        due_rows = np.fromiter(pairs, np.float64, 2 * n).reshape(n, 2)
        qty, limit = self._qty[:n], self._limit[:n]
        k.plan_children(
            due_rows,
            ts_ns,
            every * dt_ns,
            float(every),
            last_call,
            self.book,
            self.times,
            self.has_curve,
            self.curves,
            state.s,
            ctx.last_prices,
            self.settings,
            qty,
            limit,
        )
        return qty, limit
