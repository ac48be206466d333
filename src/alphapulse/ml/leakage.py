"""Checks that expose look-ahead leakage.

- ``canary``: perturb every bar after a cutoff T (rescaled, missing, spiked or cut off:
  ``PERTURBATIONS``), recompute, and require every value at t <= T to be unchanged (a
  causal computation cannot see the change).
- ``feature_ic_check``: a feature's rank correlation with the label that starts at t
  (the future) against its correlation with the label that ended at t (the past, known
  at t). A causal daily feature rarely shows |IC| above a few percent with the future;
  a leaked one shows a large future IC, much larger than its past IC.
- ``oos_ic_check``: out-of-sample rank IC of each single feature in a purged
  walk-forward (sign learnt on the training window), flagged when implausibly high.
- ``implausible``: a model's out-of-sample metric far above chance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from alphapulse.data.panel import Panel
from alphapulse.ml.cv import PurgedWalkForward, rows_label_end
from alphapulse.ml.dataset import Dataset

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CanaryResult:
    cutoff: int
    n_changed: int  # values at t <= cutoff that changed
    changed_columns: tuple[int, ...]  # trailing-axis indices (features) that changed

    @property
    def ok(self) -> bool:
        return self.n_changed == 0


Perturbation = Literal["scale", "nan", "spike", "truncate"]
PERTURBATIONS: tuple[Perturbation, ...] = get_args(Perturbation)


def perturb_after(panel: Panel, cutoff: int, seed: int = 0, how: Perturbation = "scale") -> Panel:
    """A copy of ``panel`` whose bars after row ``cutoff`` are changed: ``scale`` rescales
    them randomly (prices by a common factor per bar so OHLC stay consistent, volumes by
    another), ``nan`` removes them (OHLCV NaN: no bars), ``spike`` multiplies prices by 1e6
    and volumes by 1e9, ``truncate`` drops them (the panel ends at ``cutoff``)."""
    n = cutoff + 1
    if how == "truncate":
        return Panel(
            panel.timestamps[:n], panel.symbols, {k: v[:n] for k, v in panel.fields.items()}
        )
    rng = np.random.default_rng(seed)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    shape = (max(panel.n_bars - n, 0), panel.n_symbols)
    if how == "nan":
        px = vol = np.full(shape, np.nan)
    elif how == "spike":
        px, vol = np.full(shape, 1e6), np.full(shape, 1e9)
    else:
        px, vol = np.exp(rng.normal(0.0, 0.05, shape)), np.exp(rng.normal(0.0, 0.5, shape))
    for name in ("open", "high", "low", "close"):
        fields[name][n:] *= px
    fields["volume"][n:] *= vol
    return Panel(panel.timestamps, panel.symbols, fields)


def canary(
    fn: Callable[[Panel], FloatArray],
    panel: Panel,
    cutoff: int,
    seed: int = 0,
    how: Perturbation = "scale",
) -> CanaryResult:
    """Run ``fn`` (Panel -> array with time first, e.g. [T, N] or [T, N, F]) on the panel
    and on a copy perturbed after ``cutoff`` (``perturb_after``); count values at
    t <= cutoff that differ."""
    a = np.asarray(fn(panel), dtype=np.float64)[: cutoff + 1]
    b = np.asarray(fn(perturb_after(panel, cutoff, seed, how)), dtype=np.float64)[: cutoff + 1]
    diff = ~((a == b) | (np.isnan(a) & np.isnan(b)))
    cols: tuple[int, ...] = ()
    if diff.ndim == 3:
        cols = tuple(int(c) for c in np.flatnonzero(diff.any(axis=(0, 1))))
    return CanaryResult(cutoff, int(diff.sum()), cols)


def _rank_corr(a: FloatArray, b: FloatArray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan")
    ra = np.argsort(np.argsort(a[ok])).astype(np.float64)
    rb = np.argsort(np.argsort(b[ok])).astype(np.float64)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def past_label(y: FloatArray, label_end: IntArray) -> FloatArray:
    """[T, N]: at each t, the label whose window closed at t (known at t), else NaN."""
    past = np.full(y.shape, np.nan)
    t_idx, s_idx = np.nonzero((label_end >= 0) & ~np.isnan(y))
    past[label_end[t_idx, s_idx], s_idx] = y[t_idx, s_idx]
    return past


@dataclass(frozen=True)
class IcCheck:
    names: tuple[str, ...]
    future_ic: FloatArray
    past_ic: FloatArray
    flagged: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.flagged


def feature_ic_check(
    values: FloatArray,
    names: tuple[str, ...],
    y: FloatArray,
    label_end: IntArray,
    max_ic: float = 0.3,
    min_ic: float = 0.1,
    ratio: float = 2.0,
) -> IcCheck:
    """Pooled rank IC of each feature ``values[:, :, f]`` with the future label ``y`` and
    with the past label. Flag when |future IC| >= ``max_ic``, or when it is >= ``min_ic``
    and more than ``ratio`` times |past IC|."""
    past = past_label(y, label_end)
    fut = np.array([_rank_corr(values[:, :, f].ravel(), y.ravel()) for f in range(len(names))])
    pst = np.array([_rank_corr(values[:, :, f].ravel(), past.ravel()) for f in range(len(names))])
    af, ap = np.abs(fut), np.abs(np.nan_to_num(pst))
    bad = (af >= max_ic) | ((af >= min_ic) & (af > ratio * ap))
    return IcCheck(names, fut, pst, tuple(n for n, b in zip(names, bad, strict=True) if b))


@dataclass(frozen=True)
class OosIcCheck:
    names: tuple[str, ...]
    oos_ic: FloatArray
    flagged: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.flagged


def oos_ic_check(ds: Dataset, splitter: PurgedWalkForward, max_ic: float = 0.2) -> OosIcCheck:
    """Mean out-of-sample rank IC of each single feature: its sign is fitted on each
    purged training window and applied to the test block. Flag |IC| >= ``max_ic``."""
    ends = rows_label_end(ds.time_idx, ds.label_end, ds.n_times)
    f = ds.X.shape[1]
    ics: list[list[float]] = [[] for _ in range(f)]
    for train_t, test_t in splitter.split(ds.n_times, ends):
        tr = np.isin(ds.time_idx, train_t)
        te = np.isin(ds.time_idx, test_t)
        for j in range(f):
            sign = np.sign(_rank_corr(ds.X[tr, j], ds.y[tr])) or 1.0
            ics[j].append(sign * _rank_corr(ds.X[te, j], ds.y[te]))
    oos = np.array([np.nanmean(v) if v else np.nan for v in ics])
    flagged = tuple(n for n, v in zip(ds.feature_names, oos, strict=True) if v >= max_ic)
    return OosIcCheck(ds.feature_names, oos, flagged)


def implausible(metric: float, chance: float, max_edge: float) -> bool:
    """True when an out-of-sample metric beats chance by more than ``max_edge`` (e.g.
    daily direction accuracy 0.5 + 0.1: real edges are a few points)."""
    return bool(metric - chance > max_edge)
