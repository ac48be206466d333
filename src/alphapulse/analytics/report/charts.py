"""Plotly figures of the tearsheet (each takes plain frames, returns a figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def short(name: str, width: int = 40) -> str:
    """``name`` cut in the middle to ``width`` characters for a legend or an axis tick (a
    200-character name would take the plot's width); its start and end stay readable."""
    return name if len(name) <= width else f"{name[: width - 12]}…{name[-11:]}"


def log_toggle(fig: go.Figure) -> go.Figure:
    """Buttons that switch the y axis between linear and log."""
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.15,
                "buttons": [
                    {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ]
    )
    return fig


def lines(series: dict[str, pd.Series], title: str, yformat: str = "") -> go.Figure:
    fig = go.Figure()
    for name, s in series.items():
        mode = "lines" if len(s) > 1 else "markers"  # a single point has no line to draw
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=short(name), mode=mode))
    fig.update_layout(title=title, yaxis_tickformat=yformat, hovermode="x unified")
    return fig


def equity(
    curves: dict[str, pd.Series],
    regimes: pd.DataFrame | None = None,
    anomalies: pd.DataFrame | None = None,
) -> go.Figure:
    """Equity curves (growth of the starting capital), with regime bands and anomaly marks."""
    fig = log_toggle(lines(curves, "Equity"))
    first = next(iter(curves.values()))
    if regimes is not None and len(regimes) and "regime" in regimes.columns:
        _regime_bands(fig, regimes)
    if anomalies is not None and len(anomalies):
        at = pd.DatetimeIndex(anomalies["timestamp"])
        y = first.reindex(first.index.union(at)).ffill().reindex(at)
        fig.add_trace(
            go.Scatter(x=at, y=y.to_numpy(), mode="markers", name="anomaly", marker_color="red")
        )
    return fig


def _regime_bands(fig: go.Figure, regimes: pd.DataFrame) -> None:
    frame = regimes.sort_values("timestamp")
    if "symbol" in frame.columns and frame["symbol"].nunique() > 1:  # one series: the first
        frame = frame[frame["symbol"] == frame["symbol"].iloc[0]]
    label = frame["regime"].astype(str).to_numpy()
    ts = pd.DatetimeIndex(frame["timestamp"])
    change = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    palette = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"]
    colors = {v: palette[i % len(palette)] for i, v in enumerate(sorted(set(label)))}
    ends = np.r_[change[1:], len(label) - 1]
    for a, b in zip(change.tolist(), ends.tolist(), strict=True):
        fig.add_vrect(x0=ts[a], x1=ts[b], fillcolor=colors[label[a]], opacity=0.12, line_width=0)


def underwater(dd: dict[str, pd.Series]) -> go.Figure:
    fig = go.Figure()
    for name, s in dd.items():
        fig.add_trace(go.Scatter(x=s.index, y=s.to_numpy(), name=short(name), fill="tozeroy"))
    fig.update_layout(title="Underwater (drawdown from peak)", yaxis_tickformat=".0%")
    return fig


def heatmap(table: pd.DataFrame) -> go.Figure:
    z = table.to_numpy(dtype=float)
    text = [["" if np.isnan(v) else f"{v:.1%}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=_MONTHS,
            y=[str(y) for y in table.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_layout(title="Monthly returns", yaxis_autorange="reversed")
    return fig


def bars(x: list[str], y: np.ndarray, title: str, yformat: str = "") -> go.Figure:
    colors = np.where(np.asarray(y) >= 0, "#54a24b", "#e45756")
    fig = go.Figure(go.Bar(x=x, y=y, marker_color=colors))
    fig.update_layout(title=title, yaxis_tickformat=yformat)
    return fig


def histogram(values: dict[str, np.ndarray], title: str, xtitle: str) -> go.Figure:
    fig = go.Figure()
    for name, v in values.items():
        fig.add_trace(go.Histogram(x=v, name=name, opacity=0.75, nbinsx=60))
    fig.update_layout(title=title, barmode="overlay", xaxis_title=xtitle)
    return fig


def scatter(
    x: np.ndarray, y: np.ndarray, color: np.ndarray, title: str, labels: tuple[str, str]
) -> go.Figure:
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={"color": np.where(color >= 0, "#54a24b", "#e45756"), "size": 5},
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title=labels[0],
        yaxis_title=labels[1],
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
    )
    return fig


def correlation(corr: pd.DataFrame) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=[short(str(c)) for c in corr.columns],
            y=[short(str(c)) for c in corr.index],
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            texttemplate="%{z:.2f}",
        )
    )
    fig.update_layout(title="Correlation of per-bar returns")
    return fig
