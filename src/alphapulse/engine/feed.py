"""Data feeds: sources of BarSlices. A backtest replays a Panel; a live feed (paper
trading) yields slices as bars arrive. Both fill a History the strategies read."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from alphapulse.data.panel import Panel
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.context import PRICES, History


def forward_fill(x: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN value of each column forward (causal: uses only the past)."""
    idx = np.where(np.isnan(x), 0, np.arange(x.shape[0])[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = x[idx, np.arange(x.shape[1])[None, :]]
    return np.asarray(out, dtype=np.float64)


def session_ids(timestamps: np.ndarray, tz: str = "UTC") -> np.ndarray:
    """Trading-session id per timestamp: the local calendar date in ``tz`` as days since
    the epoch. UTC dates separate US sessions (the regular session ends before 00:00 UTC)."""
    idx = pd.DatetimeIndex(pd.to_datetime(timestamps, unit="ns", utc=True)).tz_convert(tz)
    local = idx.tz_localize(None).normalize()
    return (local.as_unit("ns").asi8 // 86_400_000_000_000).astype(np.int64)


class PanelFeed:
    """Replays a Panel step by step, revealing rows to the History as it goes."""

    def __init__(self, panel: Panel, session_tz: str = "UTC") -> None:
        self.panel = panel
        fields = dict(panel.fields)
        fields[PRICES] = forward_fill(panel.fields["close"])
        self.history = History(fields, panel.timestamps)
        self._sessions = session_ids(panel.timestamps, session_tz)

    def __len__(self) -> int:
        return self.panel.n_bars

    def __iter__(self) -> Iterator[BarSlice]:
        p = self.panel
        o, h, lo, c, v = (p.fields[k] for k in ("open", "high", "low", "close", "volume"))
        advance = self.history.advance
        rows = zip(p.timestamps, self._sessions, o, h, lo, c, v, strict=True)
        for t, (ts, session, op, hi, low, close, vol) in enumerate(rows):  # views made in C
            advance(t + 1)
            yield BarSlice(t, int(ts), int(session), op, hi, low, close, vol)

    def bar(self, t: int) -> BarSlice:
        """Bar ``t`` on its own (the History revealed up to it), for a driver that skips
        bars (``engine.sparse``)."""
        p = self.panel
        self.history.advance(t + 1)
        f = p.fields
        return BarSlice(
            t,
            int(p.timestamps[t]),
            int(self._sessions[t]),
            f["open"][t],
            f["high"][t],
            f["low"][t],
            f["close"][t],
            f["volume"][t],
        )
