"""The aligned cross-sectional container the engine reads: one row per timestamp,
one column per symbol, NaN where a symbol has no bar at that time."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Panel:
    """OHLCV bars of many symbols on one time axis.

    ``timestamps``: int64 nanoseconds since the epoch, UTC, strictly increasing, shape [T].
    ``fields[name]``: float64 [T, N]; a row is NaN for a symbol without a bar at that time.
    """

    timestamps: IntArray
    symbols: tuple[str, ...]
    fields: Mapping[str, FloatArray]

    def __post_init__(self) -> None:
        t = len(self.timestamps)
        n = len(self.symbols)
        for name in FIELDS:
            if name not in self.fields:
                raise ValueError(f"panel is missing field {name!r}")
        for name, arr in self.fields.items():
            if arr.shape != (t, n):
                raise ValueError(f"field {name!r} has shape {arr.shape}, expected {(t, n)}")
        if t > 1 and not bool(np.all(np.diff(self.timestamps) > 0)):
            raise ValueError("panel timestamps must be strictly increasing")

    @property
    def n_bars(self) -> int:
        return len(self.timestamps)

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    def __getitem__(self, name: str) -> FloatArray:
        return self.fields[name]

    @property
    def has_bar(self) -> npt.NDArray[np.bool_]:
        """[T, N] True where the symbol has a bar at that time (close is not NaN)."""
        return ~np.isnan(self.fields["close"])

    def digest(self) -> str:
        """SHA-256 (hex) of the timestamps, symbols and OHLCV arrays: identifies the exact
        bars a run or a feature cache saw."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.timestamps).tobytes())
        h.update("\x1f".join(self.symbols).encode())
        for name in FIELDS:
            h.update(np.ascontiguousarray(self.fields[name], dtype=np.float64).tobytes())
        return h.hexdigest()

    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(self.timestamps, unit="ns", utc=True))

    def slice_time(self, start: str | None = None, end: str | None = None) -> Panel:
        """Rows with start <= timestamp <= end (dates as text, UTC)."""
        idx = self.index()
        mask = np.ones(len(idx), dtype=bool)
        if start is not None:
            mask &= idx >= pd.Timestamp(start, tz="UTC")
        if end is not None:
            end_ts = pd.Timestamp(end, tz="UTC")
            if end_ts == end_ts.normalize():
                end_ts = end_ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
            mask &= idx <= end_ts
        return Panel(
            timestamps=self.timestamps[mask],
            symbols=self.symbols,
            fields={k: v[mask] for k, v in self.fields.items()},
        )

    def select(self, symbols: Sequence[str]) -> Panel:
        pos = [self.symbols.index(s) for s in symbols]
        return Panel(
            self.timestamps, tuple(symbols), {k: v[:, pos] for k, v in self.fields.items()}
        )

    def frame(self, symbol: str) -> pd.DataFrame:
        """One symbol's bars as a DataFrame indexed by UTC time (rows without a bar dropped)."""
        j = self.symbols.index(symbol)
        df = pd.DataFrame({k: v[:, j] for k, v in self.fields.items()}, index=self.index())
        return df[~np.isnan(df["close"].to_numpy())]

    @staticmethod
    def from_frames(frames: Mapping[str, pd.DataFrame]) -> Panel:
        """Align per-symbol frames (DatetimeIndex, columns open/high/low/close/volume, any
        extra numeric columns) on the union of their timestamps."""
        if not frames:
            raise ValueError("no data: at least one symbol is needed")
        symbols = tuple(sorted(frames))
        idx_list = []
        for s in symbols:
            ix = pd.DatetimeIndex(frames[s].index)
            ix = ix.tz_localize("UTC") if ix.tz is None else ix.tz_convert("UTC")
            idx_list.append(ix)
        union = idx_list[0]
        for ix in idx_list[1:]:
            union = union.union(ix)
        union = union.sort_values()
        ts = union.as_unit("ns").asi8.astype(np.int64)
        extra = set.intersection(*(set(frames[s].columns) for s in symbols)) - set(FIELDS)
        names = list(FIELDS) + sorted(c for c in extra if c not in FIELDS)
        out: dict[str, FloatArray] = {
            name: np.full((len(ts), len(symbols)), np.nan) for name in names
        }
        for j, s in enumerate(symbols):
            df = frames[s]
            pos = union.get_indexer(idx_list[j])
            for name in names:
                if name in df.columns:
                    out[name][pos, j] = pd.to_numeric(df[name], errors="coerce").to_numpy(
                        dtype=np.float64
                    )
        return Panel(timestamps=ts, symbols=symbols, fields=out)
