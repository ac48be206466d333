"""Bars as read from one file, in file order, and their assembly into a clean frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.fields import TIMESTAMP, ordered_columns

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RawBars:
    """One symbol's rows from one file, before sorting or checks.

    ``frame``: UTC DatetimeIndex named ``timestamp`` in FILE order, float64 canonical columns.
    ``lines``: the 1-based file line of each row (row position for Parquet).
    ``descending``: the file is declared newest-first.
    ``meta``: price-basis flags copied into the final frame's ``attrs``.
    """

    path: str
    symbol: str
    frame: pd.DataFrame
    lines: IntArray
    descending: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, mask: npt.NDArray[np.bool_]) -> RawBars:
        """The rows where ``mask`` is True, keeping line numbers."""
        return RawBars(
            self.path, self.symbol, self.frame[mask], self.lines[mask], self.descending, self.meta
        )


def time_bounds(
    start: str | None, end: str | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Inclusive UTC bounds; a date-only ``end`` covers that whole day (like Panel.slice_time)."""
    lo = _utc(start) if start is not None else None
    hi = _utc(end) if end is not None else None
    if hi is not None and hi == hi.normalize():
        hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return lo, hi


#: The dates a bar can carry (pandas' nanosecond range).
DATE_RANGE = "1677-09-22 .. 2262-04-11"


def utc_timestamp(text: object) -> pd.Timestamp:
    """``text`` as a UTC nanosecond timestamp (naive = UTC); ValueError saying why not
    (not a date, or outside DATE_RANGE)."""
    try:
        ts = pd.Timestamp(str(text)).as_unit("ns")
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"not a date in {DATE_RANGE}: {text!r}") from None
    if ts is pd.NaT:
        raise ValueError(f"not a date: {text!r}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _utc(text: str) -> pd.Timestamp:
    try:
        return utc_timestamp(text)
    except ValueError as exc:
        raise DataError(str(exc), field="start/end") from None


def first_duplicate(parts: Sequence[RawBars]) -> tuple[RawBars, int, int, int] | None:
    """(part, position, its line, line of the earlier row) of the first repeated timestamp."""
    seen: dict[int, int] = {}
    for part in parts:
        for pos, v in enumerate(pd.DatetimeIndex(part.frame.index).asi8):
            key = int(v)
            if key in seen:
                return part, pos, int(part.lines[pos]), seen[key]
            seen[key] = int(part.lines[pos])
    return None


def assemble(
    parts: Sequence[RawBars],
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Concatenate one symbol's parts, sort ascending and slice to [start, end].

    Duplicate timestamps cannot be put on one axis: they raise DataError naming the file and row
    (use validation's quarantine policy to set them aside).
    """
    if not parts:
        raise DataError("no rows to assemble")
    frames = [p.frame for p in parts]
    df = frames[0] if len(frames) == 1 else pd.concat(frames)
    if not df.index.is_unique:
        dup = first_duplicate(parts)
        assert dup is not None
        part, pos, line, earlier = dup
        raise DataError(
            f"duplicate timestamp {part.frame.index[pos]} for {part.symbol} (first seen on line "
            f"{earlier}); load with policy='quarantine' to set duplicates aside",
            path=part.path,
            row=line,
            field=TIMESTAMP,
            rule="duplicate_timestamp",
        )
    if not df.index.is_monotonic_increasing:
        df = df.sort_index(kind="stable")
    lo, hi = time_bounds(start, end)
    if lo is not None or hi is not None:
        df = df.loc[lo:hi]
    df = df[ordered_columns(list(df.columns))]
    df.index.name = TIMESTAMP
    df.attrs.update(parts[0].meta)
    return df
