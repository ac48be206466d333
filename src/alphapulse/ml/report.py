"""Out-of-sample comparison metrics and the research report (JSON, CSV, HTML).

Per strategy and window (a walk-forward fold's test bars, or all of them):
sharpe, total_return, max_drawdown, volatility (``analytics.metrics.compute_metrics`` on
the equity curve from the close before the window's first bar to its last bar, so the
first bar's return counts; annualised with the bars present per year of the data),
turnover (notional traded in the window / mean equity / years), hit_rate (winning
positions / decided ones, a position's round trips closed in the window summed),
exposure (mean gross exposure / equity), fees. For the ML strategy also ic (Spearman
rank correlation of the prediction with the realised label, cross-sectionally demeaned
when the label spec says so, per cross-section with at least ``MIN_IC_NAMES`` names,
averaged over bars), ic_ir (mean / std of those), and pred_hit_rate (side of the
prediction vs sign of that label).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata

from alphapulse.analytics.metrics import compute_metrics
from alphapulse.analytics.trades import closed_positions, round_trips
from alphapulse.engine.loop import RunResult

FloatArray = npt.NDArray[np.float64]
MIN_IC_NAMES = 5
METRIC_COLUMNS = (
    "sharpe", "total_return", "max_drawdown", "volatility", "turnover", "hit_rate", "exposure",
    "n_trades", "fees", "ic", "ic_ir", "pred_hit_rate",
)  # fmt: skip


def _utc(ns: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True))


def window_metrics(r: RunResult, start: int, stop: int, ppy: float) -> dict[str, Any]:
    """Metrics of run ``r`` over its bars ``[start, stop)`` (see the module docstring),
    annualised with ``ppy`` bars per year."""
    lo = max(start - 1, 0)
    eq = pd.Series(r.equity[lo:stop], index=_utc(r.timestamps[lo:stop]))
    t0, t1 = int(r.timestamps[start]), int(r.timestamps[stop - 1])
    fills = [f for f in r.fills if start <= f.bar_index < stop]
    trades = closed_positions(round_trips(r.fills), r.fills)  # as the run's summary
    if len(trades):
        exit_ns = pd.DatetimeIndex(trades["exit_time"]).as_unit("ns").asi8
        trades = trades[(exit_ns >= t0) & (exit_ns <= t1)]
    notional = float(sum(f.quantity * f.price for f in fills))
    gross = pd.Series(r.gross_exposure[lo:stop], index=eq.index)
    m = compute_metrics(
        eq, trades, periods_per_year=ppy, turnover_notional=notional, exposure=gross
    )
    return {
        "sharpe": m["sharpe"],
        "total_return": m["total_return"],
        "max_drawdown": m["max_drawdown"],
        "volatility": m["volatility"],
        "turnover": m["turnover"],
        "hit_rate": m["win_rate"],
        "exposure": m["exposure"],
        "n_trades": m["n_trades"],
        "fees": float(sum(f.fee for f in fills)),
    }


def cross_sectional_ic(pred: FloatArray, label: FloatArray) -> FloatArray:
    """Spearman correlation per row of two [T, N] arrays (NaN where fewer than
    ``MIN_IC_NAMES`` names have both values or one side is constant)."""
    out = np.full(pred.shape[0], np.nan)
    for t in range(pred.shape[0]):
        ok = np.isfinite(pred[t]) & np.isfinite(label[t])
        if ok.sum() < MIN_IC_NAMES:
            continue
        a, b = rankdata(pred[t, ok]), rankdata(label[t, ok])
        if a.std() == 0 or b.std() == 0:
            continue
        out[t] = float(np.corrcoef(a, b)[0, 1])
    return out


def prediction_metrics(
    score: FloatArray, label: FloatArray, start: int, stop: int, neutral: float = 0.0
) -> dict[str, float | None]:
    """ic, ic_ir and pred_hit_rate of predictions [T, N] against labels [T, N] on
    rows ``[start, stop)``."""
    from alphapulse.ml.drift import hit_rate

    p, y = score[start:stop], label[start:stop]
    ic = cross_sectional_ic(p, y)
    ic = ic[np.isfinite(ic)]
    mean = float(ic.mean()) if ic.size else math.nan
    sd = float(ic.std(ddof=1)) if ic.size > 1 else math.nan
    return {
        "ic": _clean(mean),
        "ic_ir": _clean(mean / sd) if sd and math.isfinite(sd) and sd > 0 else None,
        "pred_hit_rate": _clean(hit_rate(p.ravel(), y.ravel(), neutral)),
    }


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def metrics_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (fold, strategy); fold ``overall`` for the whole OOS span."""
    df = pd.DataFrame(rows)
    cols = ["fold", "start", "end", "strategy"]
    return df[cols + [c for c in METRIC_COLUMNS if c in df.columns]]


def write_report(out: Path, report: dict[str, Any], metrics: pd.DataFrame) -> None:
    """report.json, metrics.csv and report.html in ``out`` (charts read ``out/runs``)."""
    from alphapulse.analytics.report.research_page import research_html

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    metrics.to_csv(out / "metrics.csv", index=False)
    (out / "report.html").write_text(research_html(out / "runs", report, metrics))
