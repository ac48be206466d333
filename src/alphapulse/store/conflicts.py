"""Bar conflicts: incoming bars whose OHLCV differ from the stored bar of the same symbol,
timeframe and time. An identical bar is not a conflict (re-imports stay idempotent).

Imports choose a policy: ``reject`` refuses the whole import (``BarConflictError``),
``skip`` keeps the stored bars and writes only the others, ``replace`` overwrites them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, select

from alphapulse.core.errors import DataError
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import BarBatch, FloatArray, IntArray

OnConflict = Literal["reject", "replace", "skip"]
ON_CONFLICT: Final[tuple[OnConflict, ...]] = ("reject", "replace", "skip")
VALUES: Final = ("open", "high", "low", "close", "volume")


def check_on_conflict(value: str) -> OnConflict:
    """``value`` as a policy, or a DataError listing the allowed ones."""
    for policy in ON_CONFLICT:
        if value == policy:
            return policy
    raise DataError(
        f"on_conflict must be one of {', '.join(ON_CONFLICT)}, not {value!r}", field="on_conflict"
    )


@dataclass(frozen=True)
class Conflicts:
    """Conflicting bars, sorted by (symbol, ts): stored and new OHLCV as (n, 5) arrays."""

    symbols: tuple[str, ...]
    ts: IntArray
    stored: FloatArray
    new: FloatArray

    def __len__(self) -> int:
        return len(self.ts)

    @staticmethod
    def empty() -> Conflicts:
        none = np.empty((0, len(VALUES)))
        return Conflicts((), np.empty(0, np.int64), none, none)

    def __add__(self, other: Conflicts) -> Conflicts:
        return Conflicts(
            (*self.symbols, *other.symbols),
            np.concatenate([self.ts, other.ts]),
            np.concatenate([self.stored, other.stored]),
            np.concatenate([self.new, other.new]),
        )

    def describe(self, i: int = 0) -> str:
        """One line: symbol, time, stored vs new values of conflict ``i``."""

        def values(row: FloatArray) -> str:
            return " ".join(f"{k}={v:g}" for k, v in zip(VALUES, row, strict=True))

        when = pd.Timestamp(int(self.ts[i]), tz="UTC")
        return (
            f"{self.symbols[i]} {when}: stored {values(self.stored[i])}"
            f" vs new {values(self.new[i])}"
        )


class BarConflictError(DataError):
    """An import under ``on_conflict='reject'`` met bars that differ from stored ones."""

    def __init__(self, conflicts: Conflicts) -> None:
        self.conflicts = conflicts
        super().__init__(conflict_message(conflicts, 0), rule="conflict")


def conflict_message(conflicts: Conflicts, i: int) -> str:
    """The reject message, quoting conflict ``i``."""
    n = len(conflicts)
    return (
        f"{n} {'bar differs' if n == 1 else 'bars differ'} from stored bars, e.g."
        f" {conflicts.describe(i)};"
        " import refused, nothing stored (on conflict: reject; use replace or skip)"
    )


def find_conflicts(conn: Connection, batch: BarBatch) -> tuple[npt.NDArray[np.bool_], Conflicts]:
    """Mask of the batch rows that conflict with stored bars, and those conflicts."""
    table = TABLES["bars"]
    cols = [table.c.ts, *(table.c[v] for v in VALUES)]
    mask = np.zeros(len(batch), dtype=bool)
    stored_rows: list[FloatArray] = []
    for symbol, a, b in batch.symbol_slices():
        if a == b:
            continue
        stmt = (
            select(*cols)
            .where(table.c.symbol == symbol, table.c.timeframe == batch.timeframe)
            .where(table.c.ts.between(int(batch.ts[a]), int(batch.ts[b - 1])))
            .order_by(table.c.ts)
        )
        rows = conn.execute(stmt).all()
        if not rows:
            continue
        got = np.array(rows, dtype=np.float64).reshape(len(rows), len(cols))
        stored_ts = np.array([r[0] for r in rows], dtype=np.int64)
        ts = batch.ts[a:b]
        pos = np.minimum(np.searchsorted(stored_ts, ts), len(stored_ts) - 1)
        found = stored_ts[pos] == ts
        new = _values(batch, a, b)
        old = got[pos, 1:]
        differ = found & (old != new).any(axis=1)
        mask[a:b] = differ
        stored_rows.append(old[differ])
    if not mask.any():
        return mask, Conflicts.empty()
    symbols = np.array(batch.symbols, dtype=object)[batch.codes[mask]]
    new_all = np.column_stack([getattr(batch, v)[mask] for v in VALUES])
    return mask, Conflicts(tuple(symbols.tolist()), batch.ts[mask], np.vstack(stored_rows), new_all)


def _values(batch: BarBatch, a: int, b: int) -> FloatArray:
    return np.column_stack([getattr(batch, v)[a:b] for v in VALUES])


def take(batch: BarBatch, keep: npt.NDArray[np.bool_]) -> BarBatch:
    """The rows of ``batch`` where ``keep`` is True (symbols without rows dropped)."""
    codes = batch.codes[keep]
    present = np.unique(codes)
    return replace(
        batch,
        symbols=tuple(batch.symbols[int(i)] for i in present),
        codes=np.searchsorted(present, codes).astype(np.int32),
        ts=batch.ts[keep],
        open=batch.open[keep],
        high=batch.high[keep],
        low=batch.low[keep],
        close=batch.close[keep],
        volume=batch.volume[keep],
        vwap=None if batch.vwap is None else batch.vwap[keep],
        trade_count=None if batch.trade_count is None else batch.trade_count[keep],
    )
