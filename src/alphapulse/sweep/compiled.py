"""The compiled path: a strategy that declares its signals in vectorised form
(``Strategy.vectorized_signals``) runs through the numba kernel of
:mod:`alphapulse.sweep.book` instead of the event loop, with the same RunResult.

Supported: ``fill_at: next_open``, EqualSlot (no ``portfolio:``), no ``risk:``,
commission ``percent`` or ``none``, slippage ``fixed_bps`` or ``none``, no participation
cap, no latency, ``lot_size: 1``. Anything else is refused with one line naming it
(:class:`~alphapulse.core.errors.ConfigError`), never simulated differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.config import BacktestConfig, StrategyConfig
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.loop import RunResult
from alphapulse.execution.costs import (
    ExecutionConfig,
    FixedBpsSlippageConfig,
    NoCommissionConfig,
    NoSlippageConfig,
    PercentCommissionConfig,
)
from alphapulse.model.orders import Fill, Order, OrderStatus, Side
from alphapulse.strategies.base import Strategy
from alphapulse.strategies.registry import load_strategy
from alphapulse.sweep import book as bk
from alphapulse.sweep.signals import VectorSignals

FloatArray = npt.NDArray[np.float64]

_STATUS = {
    bk.PENDING: OrderStatus.PENDING,
    bk.WORKING: OrderStatus.WORKING,
    bk.FILLED: OrderStatus.FILLED,
    bk.CANCELLED: OrderStatus.CANCELLED,
    bk.REJECTED: OrderStatus.REJECTED,
}
_REASON = {
    bk.R_NONE: "",
    bk.R_REPLACED: "replaced",
    bk.R_CASH: "insufficient_cash",
    bk.R_RESIZED_CASH: "resized_insufficient_cash",
    bk.R_NO_SHORT: "no_short",
    bk.R_RESIZED_NO_SHORT: "resized_no_short",
}
_TAG = {bk.TAG_OPEN: "open", bk.TAG_REBALANCE: "rebalance", bk.TAG_CLOSE: "close"}


@dataclass(frozen=True)
class Costs:
    """The execution settings the kernel reproduces."""

    rate: float
    bps: float
    allow_short: bool


def kernel_costs(cfg: BacktestConfig) -> Costs:
    """The kernel's cost settings, or a ConfigError naming the first unsupported key."""
    if cfg.fill_at != "next_open":
        raise ConfigError(f"compiled engine: fill_at {cfg.fill_at!r} unsupported (next_open)")
    if cfg.portfolio is not None:
        raise ConfigError("compiled engine: portfolio: unsupported (EqualSlot only)")
    if cfg.risk is not None:
        raise ConfigError("compiled engine: risk: unsupported (no risk stage)")
    ex: ExecutionConfig = cfg.execution
    com, slip = ex.commission, ex.slippage
    if not isinstance(com, PercentCommissionConfig | NoCommissionConfig):
        raise ConfigError(
            f"compiled engine: execution.commission.model {com.model!r} unsupported (percent, none)"
        )
    if not isinstance(slip, FixedBpsSlippageConfig | NoSlippageConfig):
        raise ConfigError(
            f"compiled engine: execution.slippage.model {slip.model!r} unsupported "
            "(fixed_bps, none)"
        )
    if ex.max_participation is not None:
        raise ConfigError("compiled engine: execution.max_participation unsupported")
    if ex.latency_ns != 0:
        raise ConfigError("compiled engine: execution.latency_ns unsupported (0 only)")
    if ex.lot_size != 1.0:
        raise ConfigError("compiled engine: execution.lot_size unsupported (1 only)")
    for s in cfg.strategies:
        if s.execution is not None:
            raise ConfigError(
                f"compiled engine: strategy {s.label!r}: execution: (execution algorithms)"
                " unsupported (the event engine runs them)"
            )
    rate = com.rate if isinstance(com, PercentCommissionConfig) else 0.0
    bps = slip.bps if isinstance(slip, FixedBpsSlippageConfig) else 0.0
    return Costs(rate, bps, ex.allow_short)


def strategy_signals(strategy: Strategy, label: str, panel: Panel) -> VectorSignals:
    """The strategy's vectorised signals over the panel, or a ConfigError."""
    prices = forward_fill(panel.fields["close"])
    sig = strategy.vectorized_signals(prices, panel.fields)
    if sig is None:
        raise ConfigError(
            f"compiled engine: strategy {label!r} declares no vectorised signals "
            "(Strategy.vectorized_signals)"
        )
    if sig.flat.shape != prices.shape:
        raise ConfigError(
            f"compiled engine: strategy {label!r}: signals of shape {sig.flat.shape}, "
            f"expected {prices.shape}"
        )
    return sig


def target_weights(sig: VectorSignals, n_symbols: int) -> FloatArray:
    """[3, T, N] EqualSlot weights (flat / long / short), as ``EqualSlot.construct``."""
    scale = 1.0 / max(n_symbols, 1)
    out = np.empty((3, *sig.flat.shape))
    for k, d in enumerate((sig.flat, sig.long, sig.short)):
        w = (sig.flat if d is None else d) * scale
        if sig.confidence is not None:
            w = w * np.clip(sig.confidence, 0.0, 1.0)
        out[k] = w
    return out


def market_arrays(panel: Panel) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """open, close and the rows where a market order can fill (all of OHLC present)."""
    f = panel.fields
    o, c = np.ascontiguousarray(f["open"]), np.ascontiguousarray(f["close"])
    fillable = ~(np.isnan(o) | np.isnan(f["high"]) | np.isnan(f["low"]) | np.isnan(c))
    return o, c, np.ascontiguousarray(fillable)


def run_compiled(cfg: BacktestConfig, scfg: StrategyConfig, panel: Panel) -> RunResult:
    """One strategy through the kernel; the same RunResult as ``run_strategy``."""
    costs = kernel_costs(cfg)
    strategy = load_strategy(scfg.strategy, scfg.params)
    weights = target_weights(strategy_signals(strategy, scfg.label, panel), panel.n_symbols)
    o, c, fillable = market_arrays(panel)
    n, m = panel.n_bars, panel.n_symbols
    cap_o = cap_f = max(256, n * m // 16)
    while True:
        rows, book = np.empty((n, 4)), np.empty((3, m))
        orders, fills = np.empty((cap_o, bk.ORDER_COLS)), np.empty((cap_f, bk.FILL_COLS))
        n_o, n_f, traded = bk.run_book(
            o,
            c,
            fillable,
            weights,
            cfg.initial_cash,
            costs.rate,
            costs.bps,
            costs.allow_short,
            rows,
            orders,
            fills,
            book,
        )
        if n_o <= cap_o and n_f <= cap_f:
            break
        cap_o, cap_f = max(n_o, 1), max(n_f, 1)
    ts = np.ascontiguousarray(panel.timestamps, dtype=np.int64)
    return RunResult(
        name=scfg.label,
        symbols=panel.symbols,
        initial_cash=float(cfg.initial_cash),
        timestamps=ts.copy(),
        equity=rows[:, 0].copy(),
        cash=rows[:, 1].copy(),
        gross_exposure=rows[:, 2].copy(),
        net_exposure=rows[:, 3].copy(),
        orders=_orders(orders[:n_o], panel.symbols, ts),
        fills=_fills(fills[:n_f], panel.symbols, ts),
        risk_events=[],
        final_positions=book[0].copy(),
        total_fees=float(book[2].sum()),
        total_realized=float(book[1].sum()),
        traded_notional=float(traded),
    )


def run_compiled_backtest(cfg: BacktestConfig, panel: Panel) -> dict[str, RunResult]:
    """Every configured strategy through the kernel, keyed by label in config order."""
    return {s.label: run_compiled(cfg, s, panel) for s in cfg.strategies}


def _orders(log: FloatArray, symbols: tuple[str, ...], ts: npt.NDArray[np.int64]) -> list[Order]:
    """The Order objects of the kernel's order log (columns read once, as lists)."""
    if not len(log):
        return []
    ids = log[:, bk.O_ID].astype(np.int64).tolist()
    sids = log[:, bk.O_SID].astype(np.int64).tolist()
    created = ts[log[:, bk.O_T].astype(np.int64)].tolist()
    buy = (log[:, bk.O_SIDE] > 0).tolist()
    notional = log[:, bk.O_NOTIONAL].tolist()
    qty, filled, avg = (log[:, k].tolist() for k in (bk.O_QTY, bk.O_FILLED, bk.O_AVG))
    status, reason, tag = (
        log[:, k].astype(np.int64).tolist() for k in (bk.O_STATUS, bk.O_REASON, bk.O_TAG)
    )
    out = []
    for i, sid in enumerate(sids):
        cash = notional[i]
        sized = cash == cash  # not NaN: a cash budget
        order = Order(
            ids[i],
            symbols[sid],
            sid,
            Side.BUY if buy[i] else Side.SELL,
            0.0 if sized else qty[i],
            created[i],
            notional=cash if sized else None,
            eligible_ns=created[i],
            tag=_TAG[tag[i]],
        )
        order.quantity = qty[i]
        order.status = _STATUS[status[i]]
        order.filled_qty, order.avg_fill_price = filled[i], avg[i]
        order.reason = _REASON[reason[i]]
        out.append(order)
    return out


def _fills(log: FloatArray, symbols: tuple[str, ...], ts: npt.NDArray[np.int64]) -> list[Fill]:
    """The Fill objects of the kernel's fill log (columns read once, as lists)."""
    if not len(log):
        return []
    bars = log[:, bk.F_T].astype(np.int64)
    cols = zip(
        log[:, bk.F_ORDER].astype(np.int64).tolist(),
        log[:, bk.F_SID].astype(np.int64).tolist(),
        (log[:, bk.F_SIDE] > 0).tolist(),
        *(log[:, k].tolist() for k in (bk.F_QTY, bk.F_PRICE, bk.F_FEE)),
        ts[bars].tolist(),
        bars.tolist(),
        log[:, bk.F_SLIP].tolist(),
        log[:, bk.F_TAG].astype(np.int64).tolist(),
        strict=True,
    )
    buy, sell = Side.BUY, Side.SELL
    return [
        Fill(
            oid, symbols[sid], sid, buy if b else sell, q, px, fee, t_ns, t, "taker", slip, _TAG[tg]
        )
        for oid, sid, b, q, px, fee, t_ns, t, slip, tg in cols
    ]
