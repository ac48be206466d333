"""Anomaly detection over cross-sections: ``AnomalyDetector.update`` bar by bar (paper
trading, the risk stage) and ``scan`` over a whole [n_bars, n_symbols] history. Both run
the same numba step and the same IsolationForest schedule, so they give equal records.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.anomaly import kernels as K
from alphapulse.anomaly.config import AnomalyConfig, Severity
from alphapulse.anomaly.pattern import Forest, fit_forest, training_rows
from alphapulse.anomaly.records import Anomaly, from_arrays, market_rows, thresholds, to_frame
from alphapulse.core.bounds import check_buffer
from alphapulse.data.panel import Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MINUTES_PER_DAY = 1440
NS_PER_MINUTE = 60_000_000_000
PATTERN = len(K.TYPES) - 1


def _params(cfg: AnomalyConfig) -> FloatArray:
    p = np.zeros(K.N_PARAMS)
    p[K.P_ALPHA] = 2.0 / (cfg.span + 1.0)
    p[K.P_MINP] = cfg.min_periods
    p[K.P_WINSOR] = cfg.winsor
    p[K.P_REVERT] = cfg.bad_tick_revert
    p[K.P_ACTIVE] = cfg.stale_active
    p[K.P_BTLOW] = cfg.bad_tick.low
    return p


def slots_of(ts_ns: npt.ArrayLike, cfg: AnomalyConfig) -> IntArray:
    """Volume-baseline slot per bar: the UTC minute of day with ``volume_profile``."""
    ts = np.asarray(ts_ns, dtype=np.int64)
    if not cfg.volume_profile:
        return np.zeros(ts.shape, dtype=np.int64)
    return (ts // NS_PER_MINUTE) % MINUTES_PER_DAY


class _Base:
    def __init__(self, cfg: AnomalyConfig, symbols: tuple[str, ...]) -> None:
        self.cfg = cfg
        self.symbols = tuple(symbols)
        n = len(self.symbols)
        self.state, self.vol, self.market = K.new_state(
            n, MINUTES_PER_DAY if cfg.volume_profile else 1
        )
        self.params = _params(cfg)
        self.stale_levels = np.asarray(cfg.stale.levels(), dtype=np.float64)
        self.levels = thresholds(cfg)
        self.min_severity = int(Severity.parse(cfg.min_severity))


class AnomalyDetector(_Base):
    """Incremental detector: feed one cross-section per bar, get that bar's anomalies."""

    def __init__(self, cfg: AnomalyConfig, symbols: tuple[str, ...]) -> None:
        super().__init__(cfg, symbols)
        n = len(self.symbols)
        self.t = 0
        self.forest: Forest | None = None
        w = cfg.pattern.window if cfg.pattern.enabled else 0  # the pattern's training rows
        check_buffer("anomalies.pattern.window", w, n, w * n * K.N_FEATURES * 8)
        self._buf = np.full((w, n, K.N_FEATURES), np.nan)
        self.score = np.full((1, len(K.TYPES), n), np.nan)
        self.v1 = np.full_like(self.score, np.nan)
        self.v2 = np.full_like(self.score, np.nan)
        self._feat = np.full((n, K.N_FEATURES), np.nan)
        self.market_score = np.full((1, 3), np.nan)  # |z|, return, sigma of the market move

    def update(
        self,
        ts_ns: int,
        open_: FloatArray,
        close: FloatArray,
        volume: FloatArray,
        min_severity: int | None = None,
    ) -> list[Anomaly]:
        """Score the bar at ``ts_ns`` (arrays [n_symbols], NaN = no bar); the anomalies at
        or above ``min_severity`` (default the config's). Severity codes of every type
        stay in ``self.score`` for callers that need all of them."""
        slot = int(slots_of(ts_ns, self.cfg))
        sc, a, b = self.score[0], self.v1[0], self.v2[0]
        K.step(
            np.asarray(open_, dtype=np.float64),
            np.asarray(close, dtype=np.float64),
            np.asarray(volume, dtype=np.float64),
            slot,
            self.state,
            self.vol,
            self.market,
            self.params,
            self.stale_levels,
            sc[: K.N_KERNEL],
            a[: K.N_KERNEL],
            b[: K.N_KERNEL],
            self._feat,
            self.market_score[0],
        )
        self._pattern(sc, a, b)
        ms = self.min_severity if min_severity is None else min_severity
        ts = np.array([ts_ns], dtype=np.int64)
        rows = from_arrays(ts, self.symbols, self.score, self.v1, self.v2, self.levels, ms)
        return rows + market_rows(ts, self.market_score, self.cfg.market.levels(), ms)

    def _pattern(self, sc: FloatArray, a: FloatArray, b: FloatArray) -> None:
        p = self.cfg.pattern
        sc[PATTERN] = a[PATTERN] = b[PATTERN] = np.nan
        if not p.enabled:
            return
        w, t = p.window, self.t
        if t >= w and t % p.refit_every == 0:
            pos = t % w
            chrono = np.concatenate([self._buf[pos:], self._buf[:pos]])
            self.forest = fit_forest(training_rows(chrono), p)
        if self.forest is not None:
            sc[PATTERN] = self.forest.score(self._feat, p.gate)
            a[PATTERN] = self._feat[:, 0]
            b[PATTERN] = self._feat[:, 2]
        self._buf[t % w] = self._feat
        self.t = t + 1


class BatchResult:
    """Scores of a whole history: ``score``/``v1``/``v2`` [T, len(TYPES), n] and the
    market move ``market`` [T, 3] (|z|, return, sigma)."""

    def __init__(
        self, ts: IntArray, score: FloatArray, v1: FloatArray, v2: FloatArray, market: FloatArray
    ) -> None:
        self.ts, self.score, self.v1, self.v2, self.market = ts, score, v1, v2, market


def scan_arrays(
    cfg: AnomalyConfig,
    ts: npt.ArrayLike,
    open_: FloatArray,
    close: FloatArray,
    volume: FloatArray,
) -> BatchResult:
    """Every type's scores over [T, n] bars (the batch path)."""
    ts = np.asarray(ts, dtype=np.int64)
    c = np.ascontiguousarray(close, dtype=np.float64)
    T, n = c.shape
    base = _Base(cfg, tuple(str(i) for i in range(n)))
    score = np.full((T, len(K.TYPES), n), np.nan)
    v1 = np.full_like(score, np.nan)
    v2 = np.full_like(score, np.nan)
    feat = np.full((T, n, K.N_FEATURES), np.nan)
    mk = np.full((T, 3), np.nan)
    K.run_batch(
        np.ascontiguousarray(open_, dtype=np.float64),
        c,
        np.ascontiguousarray(volume, dtype=np.float64),
        slots_of(ts, cfg),
        base.state,
        base.vol,
        base.market,
        base.params,
        base.stale_levels,
        score[:, : K.N_KERNEL],
        v1[:, : K.N_KERNEL],
        v2[:, : K.N_KERNEL],
        feat,
        mk,
    )
    p = cfg.pattern
    if p.enabled:
        fits = [t for t in range(p.window, T) if t % p.refit_every == 0]
        for i, t0 in enumerate(fits):
            t1 = fits[i + 1] if i + 1 < len(fits) else T
            forest = fit_forest(training_rows(feat[t0 - p.window : t0]), p)
            if forest is None:
                continue
            block = feat[t0:t1]
            score[t0:t1, PATTERN] = forest.score(block.reshape(-1, K.N_FEATURES), p.gate).reshape(
                t1 - t0, n
            )
            v1[t0:t1, PATTERN] = block[..., 0]
            v2[t0:t1, PATTERN] = block[..., 2]
    return BatchResult(ts, score, v1, v2, mk)


def scan(
    cfg: AnomalyConfig,
    symbols: tuple[str, ...],
    ts: npt.ArrayLike,
    open_: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    min_severity: int | None = None,
) -> list[Anomaly]:
    """Anomalies of a whole history at or above ``min_severity`` (default: config's)."""
    res = scan_arrays(cfg, ts, open_, close, volume)
    ms = int(Severity.parse(cfg.min_severity)) if min_severity is None else min_severity
    rows = from_arrays(res.ts, tuple(symbols), res.score, res.v1, res.v2, thresholds(cfg), ms)
    return rows + market_rows(res.ts, res.market, cfg.market.levels(), ms)


def scan_panel(panel: Panel, cfg: AnomalyConfig, min_severity: int | None = None) -> pd.DataFrame:
    """The anomalies of a panel as a frame (``records.COLUMNS``)."""
    rows = scan(
        cfg,
        panel.symbols,
        panel.timestamps,
        panel["open"],
        panel["close"],
        panel["volume"],
        min_severity,
    )
    return to_frame(rows)
