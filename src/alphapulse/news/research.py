"""Honest evaluation of the factor: rank IC with next-day and next-week returns (from
the next open, the earliest fill), stationary-bootstrap intervals, and the embedding
head trained in purged walk-forward on subsequent returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from alphapulse.analytics import bootstrap as bs
from alphapulse.data.panel import Panel
from alphapulse.ml.cv import PurgedWalkForward
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import NAMES, assign_bars, decision_times, previous_decision
from alphapulse.news.head import fit_head
from alphapulse.news.pipeline import Prepared, factor_values
from alphapulse.news.scoring import Matrix

FloatArray = npt.NDArray[np.float64]
HORIZONS = {"next_day": 1, "next_week": 5}


def forward_returns(panel: Panel, horizon: int) -> FloatArray:
    """[T, N] return from the open of t+1 to the open of t+1+horizon (NaN at the end)."""
    o = panel.fields["open"]
    out = np.full(o.shape, np.nan)
    if len(o) > horizon + 1:
        out[: -(horizon + 1)] = o[1 + horizon :] / o[1:-horizon] - 1.0
    return out


def _spearman_rows(x: FloatArray, y: FloatArray) -> FloatArray:
    """Spearman correlation of each row pair of [B, n] arrays."""
    rx = rankdata(x, axis=1)
    ry = rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = (rx * ry).sum(axis=1) / den
    return out


@dataclass(frozen=True)
class IC:
    """Spearman IC of one factor column with one horizon, and its bootstrap interval."""

    ic: float
    ci_low: float | None
    ci_high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {"ic": self.ic, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def rank_ic(x: FloatArray, y: FloatArray, horizon: int, n_resamples: int = 1000) -> IC:
    """IC over the time-ordered pairs where both are finite; the stationary bootstrap
    resamples blocks of at least ``horizon`` bars (overlapping returns)."""
    ok = np.isfinite(x) & np.isfinite(y)
    xs, ys = x[ok], y[ok]
    if len(xs) < 10:
        return IC(float("nan"), None, None, len(xs))
    point = float(_spearman_rows(xs[None, :], ys[None, :])[0])
    block = max(bs.default_block(len(xs)), float(horizon))
    idx = bs.stationary_indices(len(xs), n_resamples, block, np.random.default_rng(0))
    lo, hi = bs.percentile_ci(_spearman_rows(xs[idx], ys[idx]))
    return IC(point, lo, hi, len(xs))


def ic_table(
    values: FloatArray, panel: Panel, start_row: int = 0
) -> dict[str, dict[str, dict[str, Any]]]:
    """{symbol: {"<factor>@<horizon>": IC}} for score and surprise, rows >= start_row."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for h_name, h in HORIZONS.items():
        fwd = forward_returns(panel, h)[start_row:]
        for j, sym in enumerate(panel.symbols):
            for f in ("sent_score", "sent_surprise"):
                x = values[start_row:, j, NAMES.index(f)]
                ic = rank_ic(x, fwd[:, j], h)
                out.setdefault(sym, {})[f"{f}@{h_name}"] = ic.as_dict()
    return out


def head_scores(
    items: Prepared,
    vectors: Matrix,
    panel: Panel,
    cfg: FactorConfig,
    *,
    n_splits: int = 4,
    alpha: float = 10.0,
) -> tuple[FloatArray, int]:
    """Out-of-sample head score per item (NaN before the first test block) and that
    block's first row. A ridge on the embedding predicts the symbol's next-day return
    from the next open; trained per fold of the purged walk-forward on bars."""
    decisions = decision_times(panel.timestamps, cfg.bar)
    after = previous_decision(decisions, cfg.bar)
    rows = assign_bars(items.known_ns, decisions, cfg.lag_bars, after)
    sym_idx = np.array([panel.symbols.index(s) for s in items.table["symbol"]], dtype=np.int64)
    t = panel.n_bars
    fwd = forward_returns(panel, 1)
    target = np.full(len(rows), np.nan)
    inside = rows < t
    target[inside] = fwd[rows[inside], sym_idx[inside]]
    usable = items.weights > 0
    label_end = np.minimum(np.arange(t) + 2, t - 1)  # open t+1 .. open t+2
    scores = np.full(len(rows), np.nan)
    first_test = t
    for train, test in PurgedWalkForward(n_splits=n_splits, embargo=1).split(t, label_end):
        first_test = min(first_test, int(test[0]))
        fit = usable & np.isin(rows, train) & np.isfinite(target)
        pred_rows = usable & np.isin(rows, test)
        if fit.sum() < 50 or not pred_rows.any():
            continue
        scores[pred_rows] = fit_head(vectors[fit], target[fit], alpha).score(vectors[pred_rows])
    return scores, first_test


def evaluate(
    items: Prepared,
    panel: Panel,
    cfg: FactorConfig,
    vectors: Matrix | None = None,
) -> dict[str, Any]:
    """IC tables of the VADER factor, and of the head factor when ``vectors`` is given
    (both on the head's out-of-sample rows then, for a like-for-like comparison)."""
    vader_cfg = cfg.model_copy(update={"scorer": "vader"})
    vader = factor_values(items, panel.symbols, panel.timestamps, vader_cfg)
    report: dict[str, Any] = {"vader": ic_table(vader, panel)}
    if vectors is not None:
        scores, first = head_scores(items, vectors, panel, cfg)
        head = factor_values(items.with_scores(scores), panel.symbols, panel.timestamps, cfg)
        report["oos_start"] = str(np.datetime64(int(panel.timestamps[first]), "ns"))[:10]
        report["vader_oos"] = ic_table(vader, panel, first)
        report["head_oos"] = ic_table(head, panel, first)
    return report
