"""The read-only view a strategy (and every later stage) gets at time t."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from alphapulse.model.orders import Order, Side

FloatArray = npt.NDArray[np.float64]
_A = TypeVar("_A", bound=np.ndarray[Any, Any])
PRICES = "close_ffill"  # History field: close carried forward over missing bars


class History:
    """Bars up to and including the current step. Backed by preallocated [T, N] arrays
    that a backtest fills up front and a live feed appends to; only rows [0, n) are ever
    exposed, as read-only views, so a strategy cannot see bars after t."""

    def __init__(self, fields: dict[str, FloatArray], timestamps: npt.NDArray[np.int64]) -> None:
        self._fields = fields
        self._ts = timestamps
        self._n = 0
        self._views()

    def _views(self) -> None:
        """Read-only views of the whole arrays, made once: slices of them are read-only
        too, so ``field`` hands out a slice without setting flags each call."""
        self._ro = {k: _frozen_view(v) for k, v in self._fields.items()}
        self._ro_ts = _frozen_view(self._ts)

    def advance(self, n: int) -> None:
        self._n = n

    @property
    def n(self) -> int:
        return self._n

    def field(self, name: str, lookback: int | None = None) -> FloatArray:
        """Rows [max(0, n-lookback), n) of a field, shape [rows, N], read-only."""
        n = self._n
        start = 0 if lookback is None else max(0, n - lookback)
        return self._ro[name][start:n]

    def timestamps(self, lookback: int | None = None) -> npt.NDArray[np.int64]:
        start = 0 if lookback is None else max(0, self._n - lookback)
        return self._ro_ts[start : self._n]

    def names(self) -> tuple[str, ...]:
        return tuple(self._fields)


def _frozen_view(arr: _A) -> _A:
    """A read-only view of ``arr`` (``arr`` itself stays writeable)."""
    view = arr.view()
    view.flags.writeable = False
    return view


def _read_only(arr: FloatArray) -> FloatArray:
    return _frozen_view(np.asarray(arr, dtype=np.float64))


class GrowingHistory(History):
    """A History a live feed appends rows to, one cross-section at a time. Capacity
    doubles when full (views handed out earlier stay valid); ``PRICES`` is carried
    forward row by row, exactly as the backtest's causal forward fill."""

    def __init__(self, names: tuple[str, ...], n_symbols: int, capacity: int = 256) -> None:
        cap = max(capacity, 1)
        fields = {k: np.full((cap, n_symbols), np.nan) for k in (*names, PRICES)}
        super().__init__(fields, np.zeros(cap, dtype=np.int64))

    def append(self, ts_ns: int, row: dict[str, FloatArray]) -> int:
        """Add the bars at ``ts_ns`` (a value per field, NaN = no bar); the new row count."""
        n = self._n
        if n == len(self._ts):
            self._grow()
        if n and ts_ns <= self._ts[n - 1]:
            raise ValueError(f"history row at {ts_ns} is not after the last one {self._ts[n - 1]}")
        self._ts[n] = ts_ns
        for name, arr in self._fields.items():
            if name != PRICES:
                arr[n] = row.get(name, np.nan)
        close = self._fields["close"][n]
        prev = self._fields[PRICES][n - 1] if n else close
        self._fields[PRICES][n] = np.where(np.isnan(close), prev, close)
        self._n = n + 1
        return self._n

    def _grow(self) -> None:
        cap = 2 * len(self._ts)
        for name, arr in self._fields.items():
            bigger = np.full((cap, arr.shape[1]), np.nan)
            bigger[: len(arr)] = arr
            self._fields[name] = bigger
        ts = np.zeros(cap, dtype=np.int64)
        ts[: len(self._ts)] = self._ts
        self._ts = ts
        self._views()


class Context:
    """What a stage may read at time t: past and current bars, positions, cash, equity.

    Read-only: the attributes are properties and the arrays are read-only views. The
    engine keeps one Context per engine and refreshes it in place at each decision (its
    arrays are the engine's snapshot buffers, rewritten at the next decision), so a stage
    that keeps something for later steps keeps a copy."""

    __slots__ = ("_avg", "_cash", "_equity", "_history", "_last", "_pos", "_symbols", "_t", "_ts")

    def __init__(
        self,
        t: int,
        ts_ns: int,
        symbols: tuple[str, ...],
        history: History,
        positions: FloatArray,
        avg_prices: FloatArray,
        last_prices: FloatArray,
        cash: float,
        equity: float,
    ) -> None:
        self._symbols = symbols
        self._history = history
        self._pos, self._avg, self._last = (
            _read_only(positions),
            _read_only(avg_prices),
            _read_only(last_prices),
        )
        self._refresh(t, ts_ns, cash, equity)

    def _refresh(self, t: int, ts_ns: int, cash: float, equity: float) -> None:
        """The engine's in-place update (the arrays' contents change with their owner)."""
        self._t, self._ts, self._cash, self._equity = t, ts_ns, cash, equity

    @property
    def t(self) -> int:
        return self._t

    @property
    def ts_ns(self) -> int:
        return self._ts

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._symbols

    @property
    def history(self) -> History:
        return self._history

    @property
    def positions(self) -> FloatArray:
        """Signed quantity per symbol."""
        return self._pos

    @property
    def avg_prices(self) -> FloatArray:
        """Average entry price per symbol."""
        return self._avg

    @property
    def last_prices(self) -> FloatArray:
        """Last known close per symbol (NaN before the first bar)."""
        return self._last

    @property
    def cash(self) -> float:
        return self._cash

    @property
    def equity(self) -> float:
        return self._equity

    def close(self, lookback: int | None = None) -> FloatArray:
        return self.history.field("close", lookback)

    def field(self, name: str, lookback: int | None = None) -> FloatArray:
        return self.history.field(name, lookback)

    def prices(self, lookback: int | None = None) -> FloatArray:
        """Closes with each symbol's last known close carried over steps where it has no
        bar (sparse intraday data, holidays); NaN before a symbol's first bar."""
        return self.history.field(PRICES, lookback)

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    def weights(self) -> FloatArray:
        """Current signed position weights (market value / equity)."""
        mv = np.where(np.isnan(self.last_prices), 0.0, self.positions * self.last_prices)
        return mv / self.equity if self.equity > 0 else np.zeros_like(mv)


def reduces(order: Order, ctx: Context) -> bool:
    """Whether ``order`` only reduces the position it trades (no new risk): a share
    quantity closing part or all of a position, never a flip or a notional order."""
    pos = float(ctx.positions[order.sid])
    closing = (pos > 0) == (order.side == Side.SELL)
    return order.notional is None and pos != 0.0 and closing and order.quantity <= abs(pos)
