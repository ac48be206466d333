"""Feature computation: ``FeatureState`` advances every feature's per-symbol state over
a block of rows; ``compute_features`` is one fresh state run over a whole Panel, and live
use feeds one row at a time through ``FeatureState.update``. Both paths call the same
kernels, so incremental values equal batch values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.core.bounds import check_buffer
from alphapulse.core.errors import SettingError
from alphapulse.data.panel import Panel
from alphapulse.features.config import FeatureSetConfig, FeatureSpec
from alphapulse.features.kinds import Block, Feature, State, build
from alphapulse.features.normalize import zscore_step
from alphapulse.features.stat_kernels import index_returns_step

FloatArray = npt.NDArray[np.float64]
_OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature values [T, N, F] (NaN where undefined or the symbol has no valid bar)."""

    names: tuple[str, ...]
    values: FloatArray
    timestamps: npt.NDArray[np.int64]
    symbols: tuple[str, ...]

    def feature(self, name: str) -> FloatArray:
        """[T, N] values of one feature."""
        return self.values[:, :, self.names.index(name)]


def _sizing_key(spec: FeatureSpec) -> tuple[str, int]:
    """The spec's largest whole-number field (a list's largest item) and its value: the
    one that sizes the feature's state in an error message."""
    sizes = {
        key: max(v) if isinstance(v, list) else v
        for key, v in spec
        if isinstance(v, int | list) and not isinstance(v, bool) and v != []
    }
    return max(sizes.items(), key=lambda kv: kv[1], default=("kind", 0))


def valid_bars(
    o: FloatArray, h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray
) -> npt.NDArray[np.bool_]:
    """True where a bar is usable: open, high, low and close > 0 and volume >= 0."""
    with np.errstate(invalid="ignore"):
        return np.asarray((o > 0) & (h > 0) & (lo > 0) & (c > 0) & (v >= 0))


class FeatureState:
    """Per-symbol state of a feature set; ``update`` takes one new row of bars."""

    def __init__(
        self, cfg: FeatureSetConfig, symbols: Sequence[str], benchmark: str | None = None
    ) -> None:
        self.cfg = cfg
        self.symbols = tuple(symbols)
        if benchmark is not None and benchmark not in self.symbols:
            raise SettingError(
                f"benchmark {benchmark!r} is not among the symbols ({', '.join(self.symbols)})"
            )
        self._bench = -1 if benchmark is None else self.symbols.index(benchmark)
        self._features: list[Feature] = [build(s) for s in cfg.features]
        for feat in self._features:
            if hasattr(feat, "bind"):  # features that need the symbol names (sentiment)
                feat.bind(self.symbols)
        names: list[str] = []
        zcols: list[int] = []
        for spec, feat in zip(cfg.features, self._features, strict=True):
            if spec.normalize:
                zcols.extend(range(len(names), len(names) + len(feat.names)))
            names.extend(feat.names)
        if len(set(names)) != len(names):
            raise ValueError(f"feature set {cfg.name!r} has duplicate feature names")
        self.names = tuple(names)
        n = len(self.symbols)
        for i, (spec, feat) in enumerate(zip(cfg.features, self._features, strict=True)):
            key, value = _sizing_key(spec)
            check_buffer(f"features.{i}.{key}", value, n, feat.state_bytes(n))
        self._states: list[State] = [f.init_state(n) for f in self._features]
        self._last = np.full(n, np.nan)
        norm = cfg.normalize
        self._zcols = np.array(zcols if norm.method != "none" else [], dtype=np.int64)
        nz = len(self._zcols)
        self._zcnt = np.zeros(n, dtype=np.int64)
        if norm.method == "rolling_z":
            check_buffer("normalize.window", norm.window, n, 8 * n * nz * norm.window)
        self._zring = np.full((n, nz, norm.window if norm.method == "rolling_z" else 1), np.nan)
        self._zsums = np.zeros((n, nz, 4))
        self._needs_time = any(s.kind == "calendar" for s in cfg.features)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def update_block(
        self, bars: Mapping[str, FloatArray], timestamps: npt.NDArray[np.int64] | None = None
    ) -> FloatArray:
        """Advance over rows [T, N] of open/high/low/close/volume; values [T, N, F]."""
        o, h, lo, c, v = (np.ascontiguousarray(bars[k], dtype=np.float64) for k in _OHLCV)
        if c.ndim != 2 or c.shape[1] != len(self.symbols):
            raise ValueError(f"bars must be [T, {len(self.symbols)}], got {c.shape}")
        t = c.shape[0]
        if timestamps is None:
            if self._needs_time:
                raise ValueError("calendar features need the timestamps")
            timestamps = np.zeros(t, dtype=np.int64)
        m = np.empty(t)
        index_returns_step(c, self._bench, self._last, m)
        block = Block(
            o, h, lo, c, v, valid_bars(o, h, lo, c, v), m, np.asarray(timestamps, np.int64)
        )
        out = np.full((t, len(self.symbols), len(self.names)), np.nan)
        col = 0
        for feat, state in zip(self._features, self._states, strict=True):
            feat.run(state, block, out, col)
            col += len(feat.names)
        if len(self._zcols):
            norm = self.cfg.normalize
            zscore_step(
                block.valid,
                self._zcols,
                norm.method == "rolling_z",
                norm.window,
                norm.min_periods,
                self._zcnt,
                self._zring,
                self._zsums,
                out,
            )
        return out

    def update(self, row: Mapping[str, FloatArray], ts_ns: int | None = None) -> FloatArray:
        """Advance by one row (each field an [N] array); values [N, F] at that row."""
        bars = {k: np.asarray(row[k], dtype=np.float64).reshape(1, -1) for k in _OHLCV}
        ts = None if ts_ns is None else np.array([ts_ns], dtype=np.int64)
        return self.update_block(bars, ts)[0]


def compute_features(
    panel: Panel, cfg: FeatureSetConfig, benchmark: str | None = None
) -> FeatureMatrix:
    """Every feature of ``cfg`` at every row of ``panel`` (causal: row t uses rows <= t)."""
    state = FeatureState(cfg, panel.symbols, benchmark)
    values = state.update_block(panel.fields, panel.timestamps)
    return FeatureMatrix(state.names, values, panel.timestamps.copy(), panel.symbols)
