"""Input windows for the sequence models (numpy only, no torch import)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from alphapulse.core.bounds import check_buffer
from alphapulse.ml.models.base import Array


def make_windows(values: Array, window: int, rows: Array | None = None) -> Array:
    """Windows ``[rows, window, F]`` from a panel ``values [T, N, F]`` (time, symbol,
    feature).

    Rows follow ``values.reshape(T * N, F)``: row ``r`` is bar ``t = r // N`` of symbol
    ``n = r % N`` and holds ``values[t - window + 1 : t + 1, n]``, oldest first, so the
    last step is the row's own features and nothing after ``t`` is used. Steps before the
    first bar are NaN (the sequence models impute NaN). ``rows`` (integer indices or a
    boolean mask over the ``T * N`` rows, e.g. the dataset's valid rows) materialises only
    those rows; without it the result holds ``T * N * window * F`` floats.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 3:
        raise ValueError(f"values must be [T, N, F], got shape {v.shape}")
    if window < 1:
        raise ValueError("window must be >= 1")
    t, n, f = v.shape
    pad = np.full((window - 1, n, f), np.nan)
    padded = np.concatenate([pad, v], axis=0)
    view = sliding_window_view(padded, window, axis=0)  # [T, N, F, window]
    flat = view.reshape(t * n, f, window)  # a view: the first two axes are contiguous
    picked = flat if rows is None else flat[np.asarray(rows)]
    return np.ascontiguousarray(picked.transpose(0, 2, 1))


def window_rows(values: Array, ti: Array, si: Array, window: int | None) -> Array:
    """Model input for the rows ``(ti[k], si[k])`` (bar, symbol) of ``values [T, N, F]``:
    ``values[ti, si]`` (``[rows, F]``) when ``window`` is None, else the windows
    ``[rows, window, F]`` ending at each row's own bar (:func:`make_windows`), so a row
    at bar t reads bars ``t - window + 1 .. t`` only."""
    v = np.asarray(values, dtype=np.float64)
    t_idx, s_idx = np.asarray(ti, dtype=np.int64), np.asarray(si, dtype=np.int64)
    if window is None:
        return np.asarray(v[t_idx, s_idx])
    if t_idx.size == 0:
        return np.empty((0, window, v.shape[2]))
    n = v.shape[1]  # the windows and their NaN padding, refused before they are made
    nbytes = 8 * v.shape[2] * (t_idx.size * window + (window - 1) * n)
    check_buffer("model.window", window, n, nbytes)
    lo = max(int(t_idx.min()) + 1 - window, 0)
    part = v[lo : int(t_idx.max()) + 1]  # only the bars the windows reach
    return make_windows(part, window, (t_idx - lo) * n + s_idx)
