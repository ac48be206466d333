"""One run's tearsheet: metrics and robustness from summary.json, charts from its tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from alphapulse.analytics.report import charts, fmt
from alphapulse.analytics.report import stats as st
from alphapulse.analytics.report.loader import RunData
from alphapulse.analytics.report.page import Page
from alphapulse.analytics.trades import position_pnl

ROLLING_BARS = 126
HEATMAP_MIN = 320  # px: the page's chart box; a shorter figure squashes the rows
DRAWDOWN_FORMATS: dict[str, fmt.Formatter] = {
    "peak": fmt.date,
    "trough": fmt.date,
    "recovery": fmt.date,
    "depth": fmt.pct,
    "days": fmt.money,
}


def build_report(
    run: RunData,
    benchmark: pd.Series | None = None,
    prices: dict[str, pd.DataFrame] | None = None,
) -> str:
    """The tearsheet HTML of ``run``; ``benchmark``: a close series to compare against;
    ``prices``: per-symbol OHLC frames for trade excursions (MAE/MFE)."""
    s = run.summary
    eq = run.equity_series
    ppy = float(s.get("periods_per_year") or 252.0)
    page = Page(f"{run.name}: backtest tearsheet")
    span = f"{str(s.get('start'))[:10]} to {str(s.get('end'))[:10]}"
    page.note(f"{span}; all figures after fees and slippage.")
    page.heading("Metrics")
    page.html(f"<table id='metrics'><tbody>{fmt.rows_html([s], fmt.METRICS)}</tbody></table>")
    page.heading("Robustness")
    page.html(f"<table id='robustness'><tbody>{fmt.rows_html([s], fmt.ROBUSTNESS)}</tbody></table>")
    page.note(_robustness_note(s))
    bench = _scaled(benchmark, eq) if benchmark is not None else None
    _performance(page, run, eq, bench, ppy)
    _trades(page, run, prices)
    _costs_and_risk(page, run)
    return page.render()


def _robustness_note(s: dict[str, Any]) -> str:
    boot = fmt.dig(s, "robustness.bootstrap") or {}
    return (
        f"Stationary block bootstrap, {boot.get('n_resamples', '–')} resamples, mean block "
        f"{fmt.show(boot.get('mean_block'), fmt.ratio)} bars. Kill switch: stop trading live "
        "when the drawdown passes the 99th percentile of the bootstrap drawdowns."
    )


def _scaled(bench: pd.Series, eq: pd.Series) -> pd.Series:
    b = bench.reindex(eq.index, method="ffill").dropna()
    return b / float(b.iloc[0]) * float(eq.iloc[0]) if len(b) else b


def _performance(
    page: Page, run: RunData, eq: pd.Series, bench: pd.Series | None, ppy: float
) -> None:
    curves = (
        {run.name: eq} if bench is None or not len(bench) else {run.name: eq, "benchmark": bench}
    )
    page.heading("Equity")
    page.chart(charts.equity(curves, run.table("regimes"), run.table("anomalies")), 440)
    page.heading("Drawdowns")
    page.chart(charts.underwater({run.name: st.underwater(eq)}), 300)
    worst = st.worst_drawdowns(eq)
    if len(worst):
        page.html(fmt.frame_html(worst, DRAWDOWN_FORMATS))
    else:
        page.note("No drawdowns.")
    page.heading("Monthly and yearly returns")
    years = pd.DatetimeIndex(eq.index).year.nunique()  # a row of 28 px each, plus margins
    page.chart(charts.heatmap(st.monthly_table(eq)), max(HEATMAP_MIN, 80 + 28 * years))
    yearly = st.period_returns(eq, "YE")
    page.chart(
        charts.bars(
            [str(y) for y in pd.DatetimeIndex(yearly.index).year],
            yearly.to_numpy(),
            "Yearly returns",
            ".0%",
        ),
        300,
    )
    r = st.returns(eq)
    br = st.returns(bench) if bench is not None and len(bench) else None
    window = min(ROLLING_BARS, max(len(r) // 4, 2))
    roll = st.rolling_stats(r, window, ppy, br)
    page.heading("Rolling statistics")
    _line_or_note(page, "Sharpe", roll["sharpe"], f"Rolling Sharpe ({window} bars)")
    _line_or_note(page, "volatility", roll["volatility"], "Rolling volatility", ".0%")
    if "beta" in roll:
        _line_or_note(page, "beta", roll["beta"], "Rolling beta to the benchmark")
    page.heading("Exposure and turnover")
    page.chart(
        charts.lines({"gross exposure": run.equity["exposure"]}, "Gross exposure / equity", ".0%"),
        280,
    )
    turnover = st.monthly_turnover(run.table("fills"), eq)
    if len(turnover):
        labels = [d.strftime("%Y-%m") for d in turnover.index]
        page.chart(
            charts.bars(labels, turnover.to_numpy(), "Monthly turnover (notional / equity)"), 280
        )


def _line_or_note(page: Page, name: str, series: pd.Series, title: str, yformat: str = "") -> None:
    """A line chart of ``series`` (trace ``name``), or a note where it has no value to draw."""
    if series.notna().any():
        page.chart(charts.lines({name: series}, title, yformat), 280)
    else:
        page.note(f"{title}: no value (too few bars, or returns that never vary).")


def _trades(page: Page, run: RunData, prices: dict[str, pd.DataFrame] | None) -> None:
    trades = run.table("trades")
    page.heading("Trades")
    if not len(trades):
        page.note("No closed trades.")
        return
    trades = trades.sort_values("exit_time", kind="stable")  # ties keep the file's order
    pnl = trades["pnl"].astype(float)
    # per position, as n_trades: a position sold in ten partial fills is one trade
    per_position = pd.Series(position_pnl(trades))
    wins, losses = st.streaks(per_position)
    held = trades["bars_held"].astype(float)  # NaN where not recorded
    page.html(
        "<table id='trade-stats'><tbody>"
        f"<tr><th>Longest winning streak</th><td>{wins:,d}</td></tr>"
        f"<tr><th>Longest losing streak</th><td>{losses:,d}</td></tr>"
        f"<tr><th>Median holding (bars)</th><td>{fmt.show(held.median(), fmt.ratio)}</td></tr>"
        "</tbody></table>"
    )
    page.chart(
        charts.histogram({"P&L": per_position.to_numpy()}, "Trade P&L (net of fees)", "P&L"),
        300,
    )
    page.chart(charts.histogram({"bars": held.to_numpy()}, "Holding time", "bars held"), 300)
    exc = st.excursions(trades, prices) if prices else pd.DataFrame()
    if len(exc):
        page.chart(
            charts.scatter(
                exc["mae"].to_numpy(),
                exc["mfe"].to_numpy(),
                exc["pnl"].to_numpy(),
                "MAE and MFE per trade (green: winners)",
                ("MAE", "MFE"),
            ),
            380,
        )
    else:
        page.note("MAE/MFE need the run's prices (pass --data DATASET).")
    contrib = pnl.groupby(trades["symbol"].astype(str)).sum().sort_values(ascending=False)
    page.heading("Contribution per symbol")
    page.chart(
        charts.bars(list(contrib.index), contrib.to_numpy(), "Closed-trade P&L per symbol"), 340
    )


def _costs_and_risk(page: Page, run: RunData) -> None:
    fills = run.table("fills")
    page.heading("Costs")
    fees = float(fills["fee"].sum()) if len(fills) else 0.0
    slip = float(fills["slippage"].sum()) if len(fills) and "slippage" in fills else 0.0
    total = fees + slip
    gross = (
        float(run.summary.get("final_equity") or 0.0)
        - float(run.summary.get("initial_cash") or 0.0)
        + total
    )
    page.html(
        "<table id='costs'><tbody>"
        f"<tr><th>Fees</th><td>{fmt.money(fees)}</td></tr>"
        f"<tr><th>Slippage</th><td>{fmt.money(slip)}</td></tr>"
        f"<tr><th>Total costs</th><td>{fmt.money(total)}</td></tr>"
        f"<tr><th>Costs / gross P&amp;L</th><td>{_share(total, gross)}</td></tr>"
        "</tbody></table>"
    )
    if len(fills):
        monthly = st.monthly_costs(fills)
        page.chart(charts.lines({c: monthly[c] for c in monthly.columns}, "Costs per month"), 280)
    events = run.table("risk_events")
    page.heading("Risk events")
    if not len(events):
        page.note("No risk events.")
        return
    counts = events.groupby("kind").size().rename("count").reset_index()
    page.html(fmt.frame_html(counts, {"count": fmt.count}))
    page.html(fmt.frame_html(events.head(50).fillna("")))


def _share(part: float, whole: float) -> str:
    return fmt.pct(part / whole) if whole > 0 and math.isfinite(part / whole) else "–"
