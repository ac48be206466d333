"""Turn a FeatureMatrix and labels into model rows (one per time and symbol), dropping
rows with any NaN feature or no label. Rows are ordered by time, then symbol."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alphapulse.features.compute import FeatureMatrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Dataset:
    """``X`` [rows, F]; ``y``, ``time_idx``, ``symbol_idx``, ``label_end``, ``weight``
    [rows]; ``n_times`` the length of the time axis the indices refer to."""

    X: FloatArray
    y: FloatArray
    time_idx: IntArray
    symbol_idx: IntArray
    label_end: IntArray
    weight: FloatArray
    feature_names: tuple[str, ...]
    n_times: int

    def __len__(self) -> int:
        return len(self.y)

    def take(self, rows: npt.ArrayLike) -> Dataset:
        """The given rows (indices or a boolean mask)."""
        r = np.asarray(rows)
        return Dataset(
            self.X[r],
            self.y[r],
            self.time_idx[r],
            self.symbol_idx[r],
            self.label_end[r],
            self.weight[r],
            self.feature_names,
            self.n_times,
        )

    def at_times(self, times: npt.ArrayLike) -> Dataset:
        """The rows whose time index is in ``times``."""
        return self.take(np.isin(self.time_idx, np.asarray(times)))

    def select(self, names: list[str] | tuple[str, ...]) -> Dataset:
        """Only the named feature columns."""
        cols = [self.feature_names.index(n) for n in names]
        return Dataset(
            self.X[:, cols],
            self.y,
            self.time_idx,
            self.symbol_idx,
            self.label_end,
            self.weight,
            tuple(names),
            self.n_times,
        )


def make_dataset(
    fm: FeatureMatrix,
    y: FloatArray,
    label_end: IntArray,
    weight: FloatArray | None = None,
) -> Dataset:
    """Rows where every feature is finite, y is not NaN and the label has an end."""
    t_n, n, _ = fm.values.shape
    if y.shape != (t_n, n) or label_end.shape != (t_n, n):
        raise ValueError(f"labels must be [{t_n}, {n}] like the features")
    w = np.ones((t_n, n)) if weight is None else np.asarray(weight, dtype=np.float64)
    ok = np.isfinite(fm.values).all(axis=2) & ~np.isnan(y) & (label_end >= 0) & np.isfinite(w)
    ti, si = np.nonzero(ok)
    return Dataset(
        X=fm.values[ti, si].astype(np.float64),
        y=y[ti, si].astype(np.float64),
        time_idx=ti.astype(np.int64),
        symbol_idx=si.astype(np.int64),
        label_end=label_end[ti, si].astype(np.int64),
        weight=w[ti, si],
        feature_names=fm.names,
        n_times=t_n,
    )


def add_feature(fm: FeatureMatrix, name: str, values: FloatArray) -> FeatureMatrix:
    """A FeatureMatrix with one more feature column ``values`` [T, N]."""
    if name in fm.names:
        raise ValueError(f"feature {name!r} already present")
    stacked = np.concatenate([fm.values, np.asarray(values, np.float64)[:, :, None]], axis=2)
    return FeatureMatrix((*fm.names, name), stacked, fm.timestamps, fm.symbols)
