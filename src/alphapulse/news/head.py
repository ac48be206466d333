"""The embedding head: a ridge on MiniLM vectors predicting an item's next-day return
(from the open after its decision bar), scored in [-1, 1].

``fit_head`` is shared by the research walk-forward (``research.head_scores``) and by
``OnlineHead``, the strategy's walk-forward: every ``refit_every`` bars it refits on the
items whose labels are realised by the current bar (expanding window) and scores newly
arrived items with the latest fit; each use is checked by ml.integrity's guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alphapulse.ml.integrity import TrainingSpan
from alphapulse.news.config import HeadConfig
from alphapulse.news.scoring import Matrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FittedHead:
    """A fitted ridge and the scale of its in-sample predictions."""

    model: Any
    scale: float

    def score(self, vectors: Matrix) -> FloatArray:
        """Predictions over their in-sample std, clipped to 3, divided by 3."""
        pred = np.asarray(self.model.predict(vectors), np.float64) / self.scale
        out: FloatArray = np.clip(pred, -3.0, 3.0) / 3.0
        return out


def fit_head(vectors: Matrix, target: FloatArray, alpha: float) -> FittedHead:
    """Ridge on standardised targets."""
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=alpha).fit(vectors, (target - target.mean()) / (target.std() or 1.0))
    return FittedHead(model, float(np.std(model.predict(vectors))) or 1.0)


class OnlineHead:
    """Walk-forward head for bar-by-bar use. Call ``advance`` once per bar with its open
    prices, then ``score`` the items arriving at that bar. An item scored at bar ``b``
    counts from bar ``b + lag``; its label is the return from open ``b + lag + 1`` to
    open ``b + lag + 2``, realised at bar ``b + lag + 2``."""

    def __init__(self, vectors: Matrix, sym_idx: IntArray, cfg: HeadConfig, lag: int) -> None:
        self.vectors, self.sym_idx, self.cfg, self.lag = vectors, sym_idx, cfg, lag
        self.bar_of = np.full(len(sym_idx), -1, dtype=np.int64)  # bar each item arrived
        self.opens: list[FloatArray] = []
        self.stamps: list[int] = []
        self.head: FittedHead | None = None
        self.span: TrainingSpan | None = None
        self.spans: list[TrainingSpan] = []

    def advance(self, t: int, ts_ns: int, opens: FloatArray) -> None:
        """Bar ``t`` (stamp, opens [N]): refit every ``refit_every`` bars, then check
        that the head in use was fitted on labels realised by this bar."""
        self.opens.append(np.asarray(opens, np.float64))
        self.stamps.append(int(ts_ns))
        if t % self.cfg.refit_every == 0:
            self._refit(t)
        if self.span is not None:
            self.span.guard(ts_ns, allow=False)

    def _refit(self, t: int) -> None:
        last = t - self.lag - 2  # items that arrived by this bar have realised labels
        arrived = np.flatnonzero((self.bar_of >= 0) & (self.bar_of <= last))
        if len(arrived) < self.cfg.min_items:
            return
        opens = np.array(self.opens)
        row = self.bar_of[arrived] + self.lag + 1
        target = opens[row + 1, self.sym_idx[arrived]] / opens[row, self.sym_idx[arrived]] - 1
        ok = np.isfinite(target)
        if ok.sum() < self.cfg.min_items:
            return
        self.head = fit_head(self.vectors[arrived[ok]], target[ok], self.cfg.alpha)
        label_end = int(row[ok].max()) + 1
        self.span = TrainingSpan(
            f"news head refitted at bar {t}", self.stamps[0], self.stamps[label_end]
        )
        self.spans.append(self.span)

    def score(self, positions: IntArray) -> FloatArray:
        """Scores of the items arriving at the current bar (NaN before the first fit)."""
        self.bar_of[positions] = len(self.opens) - 1
        if self.head is None:
            return np.full(len(positions), np.nan)
        return self.head.score(self.vectors[positions])
