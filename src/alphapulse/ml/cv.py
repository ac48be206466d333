"""Purged cross-validation on time indices (whole cross-sections).

A sample at time t carries a label over [t, label_end[t]]. A training time is dropped
(purged) when its label window overlaps the test block, and an embargo widens the gap:

- ``PurgedWalkForward``: train only on the past; keep t < a with label_end[t] + embargo
  < a, where [a, b) is the test block (so ``embargo`` bars separate the last training
  label from the test).
- ``PurgedKFold``: contiguous folds; with E = max(b - 1, label_end over the test times),
  keep t < a with label_end[t] < a, and t > E + embargo (López de Prado's embargo after
  the test labels).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from alphapulse.core.errors import SettingError

IntArray = npt.NDArray[np.int64]
Split = tuple[IntArray, IntArray]
#: ``label_end`` of a row without a label in ``ml.training.make_labels`` (-1 elsewhere).
NEVER = np.iinfo(np.int64).max


def time_label_end(label_end: npt.ArrayLike | None, n_times: int) -> IntArray:
    """Per-time label end [n_times]: a [T] array as is, a [T, N] one reduced by its row
    maximum; never before t (no label, -1 or ``NEVER`` = a window of just t)."""
    t = np.arange(n_times, dtype=np.int64)
    if label_end is None:
        return t
    arr = np.asarray(label_end, dtype=np.int64)
    arr = np.where(arr == NEVER, -1, arr)
    if arr.ndim == 2:
        arr = arr.max(axis=1) if arr.shape[1] else np.full(n_times, -1, dtype=np.int64)
    if arr.shape != (n_times,):
        raise ValueError(f"label_end must have {n_times} rows, got shape {arr.shape}")
    return np.maximum(arr, t)


def rows_label_end(time_idx: IntArray, label_end: IntArray, n_times: int) -> IntArray:
    """Per-time label end [n_times] from dataset rows (time index, label end per row)."""
    out = np.arange(n_times, dtype=np.int64)
    np.maximum.at(out, np.asarray(time_idx, np.int64), np.asarray(label_end, np.int64))
    return out


def row_folds(times: IntArray, label_end: IntArray, splitter: PurgedKFold) -> list[Split]:
    """``splitter``'s purged folds over dataset rows, as row indices: it splits the
    distinct row ``times`` (a row's ``label_end``, on the same time axis, counts as the
    last row time at or before it), so every row of one time is in the same fold."""
    uniq = np.unique(times)
    pos = np.searchsorted(uniq, times)
    end_pos = np.searchsorted(uniq, label_end, side="right") - 1
    ends = np.arange(len(uniq), dtype=np.int64)
    np.maximum.at(ends, pos, end_pos.astype(np.int64))
    return [
        (np.flatnonzero(np.isin(pos, tr)), np.flatnonzero(np.isin(pos, te)))
        for tr, te in splitter.split(len(uniq), ends)
    ]


def rows_of(row_time_idx: IntArray, times: IntArray) -> IntArray:
    """Row indices whose time is in ``times``."""
    return np.flatnonzero(np.isin(row_time_idx, times)).astype(np.int64)


@dataclass(frozen=True)
class PurgedWalkForward:
    """``n_splits`` consecutive test blocks of ``test_size`` times at the end of the
    data (default n_times // (n_splits + 1)); training on all earlier times
    (``expanding``) or the ``train_size`` times before the block (``sliding``; default
    the first fold's expanding size), then purged and embargoed."""

    n_splits: int = 5
    mode: Literal["expanding", "sliding"] = "expanding"
    train_size: int | None = None
    test_size: int | None = None
    embargo: int = 0

    def __post_init__(self) -> None:
        if self.n_splits < 1 or self.embargo < 0:
            raise ValueError("n_splits must be >= 1 and embargo >= 0")
        if self.mode not in ("expanding", "sliding"):
            raise ValueError(f"unknown mode {self.mode!r}")

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, n_times: int, label_end: npt.ArrayLike | None = None) -> Iterator[Split]:
        end = time_label_end(label_end, n_times)
        test = self.test_size or n_times // (self.n_splits + 1)
        first = n_times - self.n_splits * test
        if test < 1 or first < 1:
            raise SettingError(
                f"n_splits: {n_times} times are too few for {self.n_splits} test blocks"
            )
        size = self.train_size or first
        for j in range(self.n_splits):
            a = first + j * test
            lo = 0 if self.mode == "expanding" else max(0, a - size)
            cand = np.arange(lo, a, dtype=np.int64)
            train = cand[end[cand] + self.embargo < a]
            yield train, np.arange(a, a + test, dtype=np.int64)


@dataclass(frozen=True)
class PurgedKFold:
    """K contiguous folds, each the test block once; training on the other times,
    purged and embargoed (for tuning inside a training window)."""

    n_splits: int = 5
    embargo: int = 0

    def __post_init__(self) -> None:
        if self.n_splits < 2 or self.embargo < 0:
            raise ValueError("n_splits must be >= 2 and embargo >= 0")

    def get_n_splits(self) -> int:
        return self.n_splits

    def split(self, n_times: int, label_end: npt.ArrayLike | None = None) -> Iterator[Split]:
        end = time_label_end(label_end, n_times)
        if n_times < self.n_splits:
            raise SettingError(f"n_splits: {n_times} times are too few for {self.n_splits} folds")
        bounds = np.linspace(0, n_times, self.n_splits + 1).astype(np.int64)
        t = np.arange(n_times, dtype=np.int64)
        for a, b in itertools.pairwise(bounds.tolist()):
            span_end = max(b - 1, int(end[a:b].max()))
            keep = ((t < a) & (end < a)) | (t > span_end + self.embargo)
            yield t[keep], np.arange(a, b, dtype=np.int64)
