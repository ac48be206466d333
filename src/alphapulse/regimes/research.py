"""Batch regimes for research: per symbol of a panel, a timeline and a plotly chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.data.panel import Panel
from alphapulse.regimes.base import WARMUP, log_returns
from alphapulse.regimes.config import ChangePointConfig, HMMConfig, VolConfig

AnyConfig = HMMConfig | ChangePointConfig | VolConfig
COLOURS = {
    "calm": "#2ca02c",
    "trend_up": "#1f77b4",
    "chop": "#ff7f0e",
    "trend_down": "#9467bd",
    "high_vol": "#d62728",
    WARMUP: "#7f7f7f",
}


def detect_panel(panel: Panel, cfg: AnyConfig) -> pd.DataFrame:
    """regimes.csv rows (timestamp, symbol, regime, bars_since, p_<label>...) for every
    symbol, each on its own bars (its closes where it has one)."""
    ts = pd.to_datetime(panel.timestamps, unit="ns", utc=True)
    frames = []
    for j, sym in enumerate(panel.symbols):
        close = panel.fields["close"][:, j]
        have = np.isfinite(close)
        series = cfg.build().detect(log_returns(close[have]))
        frames.append(series.frame(ts[have], sym))
    return pd.concat(frames, ignore_index=True)


def timeline(df: pd.DataFrame) -> pd.DataFrame:
    """Episodes: symbol, regime, start, end, bars (consecutive rows with one label)."""
    rows = []
    for sym, g in df.groupby("symbol", sort=False):
        lab = g["regime"].to_numpy()
        cut = np.flatnonzero(lab[1:] != lab[:-1]) + 1
        for a, b in zip(np.r_[0, cut], np.r_[cut, len(lab)], strict=True):
            ts = g["timestamp"].iloc[[a, b - 1]]
            rows.append((sym, lab[a], ts.iloc[0].date(), ts.iloc[1].date(), int(b - a)))
    return pd.DataFrame(rows, columns=["symbol", "regime", "start", "end", "bars"])


def plot(df: pd.DataFrame, panel: Panel, path: Path) -> None:
    """A self-contained HTML chart: each symbol's close, coloured by regime."""
    import plotly.graph_objects as go

    fig = go.Figure()
    ts = pd.to_datetime(panel.timestamps, unit="ns", utc=True)
    close = pd.DataFrame(panel.fields["close"], index=ts, columns=list(panel.symbols))
    for sym, g in df.groupby("symbol", sort=False):
        px = close[sym].reindex(g["timestamp"]).to_numpy()
        for lab in g["regime"].unique():
            y = np.where(g["regime"].to_numpy() == lab, px, np.nan)
            fig.add_trace(
                go.Scatter(
                    x=g["timestamp"],
                    y=y,
                    mode="lines",
                    name=f"{sym} {lab}",
                    line={"color": COLOURS.get(str(lab), "#17becf")},
                    connectgaps=False,
                )
            )
    fig.update_layout(title="Prices coloured by regime", template="plotly_white")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
