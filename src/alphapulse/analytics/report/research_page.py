"""The ML research report page: readable out-of-sample metrics, equity and drawdown charts
of every strategy, per-fold Sharpe, and the drift events summarised."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from alphapulse.analytics.report import charts, fmt
from alphapulse.analytics.report import stats as st
from alphapulse.analytics.report.page import Page

#: How each research metric column is shown.
COLUMN_FORMATS: dict[str, fmt.Formatter] = {
    "sharpe": fmt.ratio,
    "total_return": fmt.pct,
    "max_drawdown": fmt.pct,
    "volatility": fmt.pct,
    "turnover": fmt.ratio,
    "hit_rate": fmt.pct,
    "exposure": fmt.pct,
    "n_trades": fmt.count,
    "fees": fmt.money,
    "ic": fmt.prob,
    "ic_ir": fmt.ratio,
    "pred_hit_rate": fmt.pct,
}


def research_html(runs_dir: Path, report: dict[str, Any], metrics: pd.DataFrame) -> str:
    """The page; equity curves are read from ``runs_dir/<strategy>/equity.csv`` when there."""
    page = Page(f"ML research: {report['name']}")
    page.html(f"<p>{html.escape(str(report.get('summary', '')))}</p>")
    overall = metrics[metrics["fold"] == "overall"].drop(columns=["fold"])
    folds = metrics[metrics["fold"] != "overall"]
    page.heading("Out of sample, after costs: overall")
    page.html(fmt.frame_html(overall, COLUMN_FORMATS))
    curves = _equity_curves(runs_dir, list(overall["strategy"].astype(str)))
    if curves:
        page.chart(charts.log_toggle(charts.lines(curves, "Equity (growth of 1)")), 420)
        page.chart(charts.underwater({k: st.underwater(v) for k, v in curves.items()}), 300)
    page.heading("Per fold")
    page.chart(_fold_sharpe(folds), 320)
    page.html(fmt.frame_html(folds, COLUMN_FORMATS))
    drift = pd.DataFrame(report.get("drift_events", []))
    page.heading(f"Drift events ({len(drift):,})")
    _drift_summary(page, drift)
    page.heading("Configuration")
    params = html.escape(json.dumps(report.get("config", {}), indent=2, default=str))
    page.html(f"<details><summary>show</summary><pre>{params}</pre></details>")
    return page.render()


def _equity_curves(runs_dir: Path, labels: list[str]) -> dict[str, pd.Series]:
    out = {}
    for label in labels:
        path = runs_dir / label / "equity.csv"
        if path.is_file():
            eq = pd.read_csv(path, usecols=["timestamp", "equity"])
            s = pd.Series(
                eq["equity"].to_numpy(dtype=float),
                index=pd.DatetimeIndex(pd.to_datetime(eq["timestamp"], utc=True)),
            )
            out[label] = s / float(s.iloc[0])
    return out


def _fold_sharpe(folds: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for name, g in folds.groupby("strategy", sort=False):
        fig.add_trace(go.Bar(x=g["fold"].astype(str), y=g["sharpe"], name=str(name)))
    fig.update_layout(title="Sharpe per fold", barmode="group", xaxis_title="fold")
    return fig


def _drift_summary(page: Page, drift: pd.DataFrame) -> None:
    """Counts by kind and feature, first and last time, and events per month."""
    if not len(drift):
        page.note("No drift events.")
        return
    ts = pd.to_datetime(drift["timestamp"], utc=True, errors="coerce")
    key = [c for c in ("kind", "name") if c in drift.columns]
    counts = drift.assign(ts=ts).groupby(key, dropna=False)["ts"].agg(["size", "min", "max"])
    counts = counts.reset_index().rename(columns={"size": "events", "min": "first", "max": "last"})
    counts = counts.sort_values("events", ascending=False)
    page.note(f"{len(counts):,} distinct (kind, name) pairs; the 15 most frequent:")
    page.html(fmt.frame_html(counts.head(15), {"events": fmt.count}))
    monthly = drift.assign(ts=ts).set_index("ts").groupby("kind").resample("ME").size()
    per_kind = {str(k): monthly.loc[k] for k in monthly.index.get_level_values(0).unique()}
    page.chart(charts.lines(per_kind, "Drift events per month"), 280)
