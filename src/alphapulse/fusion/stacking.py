"""Stacking: a logistic meta-model on the experts' standing directions.

Rows are (bar s, symbol) with the experts' directions at s as features (NaN = 0) and the
sign of the close-to-close return over the next ``horizon`` bars as the label. At a
refit bar t only rows whose label is realised (s + horizon <= t) train; the experts'
outputs at s were themselves decided with data up to s (out of sample). The meta-model's
regularisation is chosen by the out-of-fold log-loss of purged walk-forward folds
(``ml.cv.PurgedWalkForward``, embargo = horizon), then it is refitted on all those rows.
Every decision passes ``ml.integrity.TrainingSpan.guard``: a bar inside the training
labels stops with ``InSampleError``. Before the first fit the fuser abstains (NaN), and
so it does on a symbol where every expert abstains (NaN, or weight 0 in the hybrid): the
conflict rule of ``fusion.fusers`` (keep what is held), not a trade on the intercept.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alphapulse.ml.cv import PurgedWalkForward
from alphapulse.ml.integrity import TrainingSpan

if TYPE_CHECKING:  # scikit-learn loads on the first fit (a second off every import)
    from sklearn.linear_model import LogisticRegression

FloatArray = npt.NDArray[np.float64]
GRID = (0.1, 1.0, 10.0)


class StackingFuser:
    """See the module docstring."""

    def __init__(
        self,
        horizon: int = 5,
        refit_every: int = 63,
        min_train: int = 250,
        train_window: int | None = 1000,
        n_splits: int = 3,
        threshold: float = 0.1,
    ) -> None:
        self.h, self.refit_every, self.min_train = horizon, refit_every, min_train
        self.train_window, self.n_splits, self.threshold = train_window, n_splits, threshold
        self.model: LogisticRegression | None = None
        self.span: TrainingSpan | None = None
        self.fits: list[dict[str, float]] = []
        self._x: list[FloatArray] = []  # [N, E] per bar
        self._c: list[FloatArray] = []
        self._ts: list[int] = []
        self._next = min_train

    def observe(self, ts_ns: int, dirs: FloatArray, close: FloatArray) -> None:
        """Record bar t's standing directions [E, N] and closes [N]; refit when due."""
        self._x.append(np.nan_to_num(dirs.T, nan=0.0))
        self._c.append(np.asarray(close, dtype=np.float64).copy())
        self._ts.append(ts_ns)
        if len(self._ts) >= self._next:
            self.refit()

    def _rows(self, times: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = np.array(self._x)[times]  # [S, N, E]
        c = np.array(self._c)
        with np.errstate(divide="ignore", invalid="ignore"):
            fwd = c[times + self.h] / c[times] - 1.0  # realised: times + h <= t
        ok = np.isfinite(fwd)
        t_of = np.broadcast_to(times[:, None], ok.shape)[ok]
        return x[ok], (fwd[ok] > 0).astype(np.float64), t_of.astype(np.float64)

    def refit(self) -> None:
        """Fit on the rows with labels realised by the latest bar (see module docstring)."""
        t = len(self._ts) - 1
        self._next = len(self._ts) + self.refit_every
        last = t - self.h
        first = 0 if self.train_window is None else max(0, last + 1 - self.train_window)
        if last - first + 1 < self.n_splits + 2:
            return
        times = np.arange(first, last + 1, dtype=np.int64)
        x, y, t_of = self._rows(times)
        if len(np.unique(y)) < 2:
            return
        best = min(GRID, key=lambda c: self._oof_loss(x, y, t_of - first, len(times), c))
        self.model = _fit(x, y, best)
        self.span = TrainingSpan("stacking meta-model", self._ts[first], self._ts[last + self.h])
        self.fits.append({"t": float(t), "C": best, "rows": float(len(y))})

    def _oof_loss(self, x: FloatArray, y: FloatArray, row_t: FloatArray, n: int, c: float) -> float:
        losses = []
        cv = PurgedWalkForward(n_splits=self.n_splits, embargo=self.h)
        end = np.arange(n, dtype=np.int64) + self.h
        for tr, te in cv.split(n, end):
            a, b = np.isin(row_t, tr), np.isin(row_t, te)
            if len(np.unique(y[a])) < 2 or not b.any():
                continue
            p = _fit(x[a], y[a], c).predict_proba(x[b])[:, 1]
            losses.append(_log_loss(y[b], p, labels=[0.0, 1.0]))
        return float(np.mean(losses)) if losses else np.inf

    def fuse(self, ts_ns: int, dirs: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Direction and confidence per symbol from the meta-model (NaN before a fit
        and where every expert abstains)."""
        n = dirs.shape[1]
        if self.model is None or self.span is None:
            return np.full(n, np.nan), np.full(n, np.nan)
        self.span.guard(ts_ns, allow=False)
        p = self.model.predict_proba(np.nan_to_num(dirs.T, nan=0.0))[:, 1]
        score = 2.0 * p - 1.0
        d = np.where(np.abs(score) <= self.threshold, 0.0, np.sign(score))
        none = np.isnan(dirs).all(axis=0)  # every expert abstains: no view (keep)
        return np.where(none, np.nan, d), np.where(none, np.nan, np.abs(score))


def _log_loss(y: FloatArray, p: FloatArray, labels: list[float]) -> float:
    from sklearn.metrics import log_loss

    return float(log_loss(y, p, labels=labels))


def _fit(x: FloatArray, y: FloatArray, c: float) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(C=c, max_iter=200).fit(x, y)
