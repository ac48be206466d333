"""Per-bar sentiment factor: items are assigned to the first bar whose decision time is
at or after their ``known_at`` (plus ``lag_bars``), then a numba step turns the per-bar
weighted sums into a decayed score, a count and a surprise. Row t uses items assigned
to rows <= t only, so batch and bar-by-bar values are equal."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import ConfigError
from alphapulse.data.calendars import calendar_for
from alphapulse.news.config import FactorConfig, GuardConfig
from alphapulse.news.guard import burst_scale
from alphapulse.news.items import session_close

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
NAMES = ("sent_score", "sent_count", "sent_surprise")
_DAY_NS = 86_400_000_000_000


def decision_times(
    timestamps: IntArray, bar: str = "1D", calendar: str = "XNYS", previous: int | None = None
) -> IntArray:
    """UTC ns at which each bar's decision is taken: for daily bars (``bar`` >= 1D) the
    session close of the bar's UTC date, else the end of the bar (stamp + ``bar``).

    Daily bars are stamped 00:00 UTC (the platform's convention); a stamp with a time of
    day means shorter bars, whose decisions come before the session close: a
    ``ConfigError`` (the day's headlines would be used hours before they are known). So
    are intraday bars closer together than ``bar`` (``previous``: the stamp before the
    first, for a stream): their decisions come before stamp + ``bar``."""
    ts = np.asarray(timestamps, dtype=np.int64)
    length = pd.Timedelta(bar)
    if length < pd.Timedelta("1D"):
        stamps = ts if previous is None else np.concatenate(([previous], ts))
        short = np.diff(stamps) < length.value
        if short.any():
            i = int(np.argmax(short))
            a, b = (pd.Timestamp(int(x), tz="UTC") for x in stamps[i : i + 2])
            raise ConfigError(
                f"factor.bar {bar!r}: the bars at {a} and {b} are {b - a} apart; set the"
                " sentiment factor's bar to the data's bar length (a longer one would use"
                " headlines from after the decision)"
            )
        return ts + length.value
    intraday = ts % _DAY_NS != 0
    if intraday.any():
        stamp = pd.Timestamp(int(ts[np.argmax(intraday)]), tz="UTC")
        raise ConfigError(
            f"factor.bar {bar!r}: the bar at {stamp} has a time of day; set the sentiment"
            " factor's bar to the data's bar length (e.g. 1h)"
        )
    dates = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    return session_close(dates, calendar).as_unit("ns").asi8.astype(np.int64)


def previous_decision(decisions: IntArray, bar: str = "1D", calendar: str = "XNYS") -> int:
    """Decision time of the bar before the first (``decisions`` non-empty): the first
    bar's start for bars under a day, else the calendar's last close before the first."""
    length = pd.Timedelta(bar)
    if length < pd.Timedelta("1D"):
        return int(decisions[0]) - length.value
    first = pd.Timestamp(int(decisions[0]), tz="UTC")
    day = first.tz_localize(None).normalize()
    cal = calendar_for(calendar, day - pd.Timedelta(days=30), day)
    return int(pd.Timestamp(cal.previous_close(first)).value)


def assign_bars(
    known_ns: IntArray, decisions: IntArray, lag_bars: int = 0, after: int | None = None
) -> IntArray:
    """Row of the first decision at or after each ``known_at``, plus ``lag_bars``; rows
    past the end are ``len(decisions)`` (not usable yet), and so are items known by
    ``after`` (``previous_decision``): they arrived before the data, at an age in bars
    that is unknown, and are not lumped undecayed into the first bar."""
    rows = np.searchsorted(decisions, known_ns, side="left") + lag_bars
    if after is not None:
        rows[known_ns <= after] = len(decisions)
    return np.minimum(rows, len(decisions)).astype(np.int64)


@dataclass(frozen=True)
class BarSums:
    """Per-bar aggregates [T, N]: weighted score sum, weight sum, item count."""

    wscore: FloatArray
    weight: FloatArray
    count: FloatArray


def aggregate(
    rows: IntArray,
    sym_idx: IntArray,
    scores: FloatArray,
    weights: FloatArray,
    shape: tuple[int, int],
    guard: GuardConfig,
    lag_bars: int = 0,
) -> BarSums:
    """Sum the usable items into their bars; bursts are damped per bar (the first
    ``lag_bars`` rows, empty, are no history)."""
    t = shape[0]
    ok = (rows < t) & (sym_idx >= 0) & np.isfinite(scores) & (weights > 0)
    r, s = rows[ok], sym_idx[ok]
    count = np.zeros(shape)
    np.add.at(count, (r, s), 1.0)
    wsum = np.zeros(shape)
    wscore = np.zeros(shape)
    np.add.at(wsum, (r, s), weights[ok])
    np.add.at(wscore, (r, s), weights[ok] * scores[ok])
    damp = burst_scale(count, guard, lag_bars)
    return BarSums(wscore * damp, wsum * damp, count)


@nb.njit(cache=True)
def factor_step(
    wscore: FloatArray,
    weight: FloatArray,
    count: FloatArray,
    decay: float,
    min_periods: int,
    sums: FloatArray,
    ring: FloatArray,
    seen: IntArray,
    out: FloatArray,
) -> None:
    """Advance the state (``sums`` [N, 2], ``ring`` [N, W], ``seen`` [N]) over rows [T, N],
    writing score, count and surprise into ``out`` [T, N, 3]."""
    t_rows, n = wscore.shape
    w = ring.shape[1]
    for t in range(t_rows):
        for j in range(n):
            sums[j, 0] = decay * sums[j, 0] + wscore[t, j]
            sums[j, 1] = decay * sums[j, 1] + weight[t, j]
            score = sums[j, 0] / sums[j, 1] if sums[j, 1] > 1e-12 else np.nan
            k = min(seen[j], w)
            surprise = np.nan
            if k >= min_periods and not np.isnan(score):
                mean = 0.0
                for i in range(k):
                    mean += ring[j, i]
                mean /= k
                var = 0.0
                for i in range(k):
                    var += (ring[j, i] - mean) ** 2
                sd = np.sqrt(var / (k - 1))
                if sd > 1e-12:
                    surprise = (score - mean) / sd
            out[t, j, 0] = score
            out[t, j, 1] = count[t, j]
            out[t, j, 2] = surprise
            if not np.isnan(score):
                ring[j, seen[j] % w] = score
                seen[j] += 1


class FactorState:
    """Running factor state for N symbols; ``update`` takes rows of ``BarSums``."""

    def __init__(self, n: int, cfg: FactorConfig) -> None:
        self.decay = float(0.5 ** (1.0 / cfg.halflife))
        self.min_periods = cfg.min_periods
        self.sums = np.zeros((n, 2))
        self.ring = np.full((n, cfg.window), np.nan)
        self.seen = np.zeros(n, dtype=np.int64)

    def update(self, bars: BarSums) -> FloatArray:
        """Factor values [T, N, 3] (NAMES order) of the next rows."""
        out = np.full((*bars.count.shape, 3), np.nan)
        factor_step(
            np.ascontiguousarray(bars.wscore),
            np.ascontiguousarray(bars.weight),
            np.ascontiguousarray(bars.count),
            self.decay,
            self.min_periods,
            self.sums,
            self.ring,
            self.seen,
            out,
        )
        return out
