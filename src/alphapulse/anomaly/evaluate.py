"""Evidence: anomalies injected into real series at known bars, and precision/recall of
the detectors per type and severity threshold (``tests/anomaly``, ``benchmarks``).

Precision counts only detections the injection caused (absent from the same scan of the
clean series): a hit sits on an injected (bar, symbol) of its own type, a false alarm on
no injected cell at all; a detection on another type's injection (a gap also moves the
close) is a cross-hit, reported but in neither count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.anomaly.config import AnomalyConfig, Severity
from alphapulse.anomaly.detector import scan
from alphapulse.anomaly.records import Anomaly

FloatArray = npt.NDArray[np.float64]
INJECTED = ("price_jump", "gap", "volume_spike", "stale_price", "bad_tick", "pattern")
STALE_BARS = 12


@dataclass(frozen=True, slots=True)
class Injected:
    """Where an injected anomaly must be detected: bars ``[t0, t1]`` of symbol ``sid``."""

    type: str
    sid: int
    t0: int
    t1: int


@dataclass
class Bars:
    """Open, high, low, close and volume, each [T, n] (copies, safe to edit)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def copy(self) -> Bars:
        return Bars(*(a.copy() for a in (self.open, self.high, self.low, self.close, self.volume)))

    def scale_from(self, t: int, sid: int, factor: float) -> None:
        """Multiply every price of ``sid`` from bar ``t`` on (a level shift)."""
        for a in (self.open, self.high, self.low, self.close):
            a[t:, sid] *= factor


def inject(
    bars: Bars, rng: np.random.Generator, *, start: int, spacing: int = 60, size: float = 12.0
) -> tuple[Bars, list[Injected]]:
    """A copy of ``bars`` with one anomaly every ``spacing`` bars per symbol from ``start``,
    cycling through ``INJECTED``; moves are ``size`` x the symbol's trailing volatility."""
    out = bars.copy()
    truth: list[Injected] = []
    T, n = bars.close.shape
    lr = np.diff(np.log(bars.close), axis=0)
    k = 0
    for sid in range(n):
        offset = int(rng.integers(0, spacing // 2))
        for t in range(start + offset, T - STALE_BARS - 2, spacing):
            kind = INJECTED[k % len(INJECTED)]
            k += 1
            window = lr[max(t - 60, 0) : t - 1, sid]
            sd = float(np.nanstd(window))
            if (
                not np.isfinite(sd)
                or sd <= 0
                or not np.isfinite(bars.close[t - 1 : t + 2, sid]).all()
            ):
                continue
            sign = 1.0 if rng.random() < 0.5 else -1.0
            truth.append(_apply(out, kind, t, sid, sign, sd, size))
    return out, truth


def _apply(b: Bars, kind: str, t: int, sid: int, sign: float, sd: float, size: float) -> Injected:
    if kind == "price_jump":  # the close of bar t jumps, the level stays
        b.scale_from(t + 1, sid, np.exp(sign * size * sd))
        for a in (b.close, b.high, b.low):
            a[t, sid] *= np.exp(sign * size * sd)
        return Injected(kind, sid, t, t)
    if kind == "gap":  # the open of bar t gaps, the level stays
        b.scale_from(t, sid, np.exp(sign * size * sd))
        return Injected(kind, sid, t, t)
    if kind == "volume_spike":
        b.volume[t, sid] *= 15.0
        return Injected(kind, sid, t, t)
    if kind == "stale_price":
        last = b.close[t - 1, sid]
        for a in (b.open, b.high, b.low, b.close):
            a[t : t + STALE_BARS, sid] = last
        return Injected(kind, sid, t, t + STALE_BARS - 1)
    if kind == "bad_tick":  # one print far off; the next bar is back (seen one bar late)
        f = np.exp(sign * size * sd)
        b.close[t, sid] *= f
        b.high[t, sid] = max(b.high[t, sid], b.close[t, sid])
        b.low[t, sid] = min(b.low[t, sid], b.close[t, sid])
        return Injected(kind, sid, t, t + 1)
    # pattern break: each feature moderate (below the univariate LOW levels) but jointly
    # rare: a 4-sigma gap one way, a 4-sigma close the other way on a tenth of the volume
    prev, close = b.close[t - 1, sid], b.close[t, sid]
    b.open[t, sid] = prev * np.exp(sign * 4.0 * sd)
    b.close[t, sid] = prev * np.exp(-sign * 4.0 * sd)
    b.high[t, sid] = max(b.high[t, sid], b.open[t, sid], b.close[t, sid])
    b.low[t, sid] = min(b.low[t, sid], b.open[t, sid], b.close[t, sid])
    b.scale_from(t + 1, sid, b.close[t, sid] / close)
    b.volume[t, sid] *= 0.1
    return Injected(kind, sid, t, t)


def _keys(rows: list[Anomaly], symbols: tuple[str, ...], ts: npt.NDArray[np.int64]) -> dict:
    pos = {int(x): i for i, x in enumerate(ts)}
    sid = {s: i for i, s in enumerate(symbols)}
    return {(pos[r.ts_ns], sid[r.symbol], r.type): int(r.severity) for r in rows if r.symbol}


def evaluate(
    cfg: AnomalyConfig, ts: npt.ArrayLike, clean: Bars, dirty: Bars, truth: list[Injected]
) -> pd.DataFrame:
    """Precision and recall per injected type and minimum severity (one row each), with
    counts: ``events``, ``found``, ``hits``, ``false_alarms``, ``cross_hits``."""
    ts = np.asarray(ts, dtype=np.int64)
    symbols = tuple(f"S{i}" for i in range(clean.close.shape[1]))

    def run(b: Bars) -> dict:
        rows = scan(cfg, symbols, ts, b.open, b.close, b.volume, min_severity=1)
        return _keys(rows, symbols, ts)

    base, got = run(clean), run(dirty)
    new = {k: s for k, s in got.items() if base.get(k, 0) < s}
    cells: dict[tuple[int, int], str] = {}
    for e in truth:
        for t in range(e.t0, e.t1 + 1):
            cells[(t, e.sid)] = e.type
    out = []
    for kind in INJECTED:
        events = [e for e in truth if e.type == kind]
        for sev in (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL):
            found = sum(
                any(got.get((t, e.sid, kind), 0) >= sev for t in range(e.t0, e.t1 + 1))
                for e in events
            )
            hits = fa = cross = 0
            for (t, sid, k), s in new.items():
                if k != kind or s < sev:
                    continue
                at = cells.get((t, sid))
                hits += at == kind
                fa += at is None
                cross += at is not None and at != kind
            out.append(
                {
                    "type": kind,
                    "min_severity": sev.name,
                    "events": len(events),
                    "found": found,
                    "recall": found / len(events) if events else float("nan"),
                    "hits": hits,
                    "false_alarms": fa,
                    "cross_hits": cross,
                    "precision": hits / (hits + fa) if hits + fa else float("nan"),
                }
            )
    return pd.DataFrame(out)
