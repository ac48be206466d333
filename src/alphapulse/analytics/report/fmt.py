"""Numbers for people: percentages, thousands separators, and the metrics table spec."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

Formatter = Callable[[Any], str]


def pct(v: Any) -> str:
    return f"{float(v):.2%}"


def money(v: Any) -> str:
    return f"{float(v):,.0f}"


def ratio(v: Any) -> str:
    return f"{float(v):,.2f}"


def count(v: Any) -> str:
    return f"{int(v):,d}"


def prob(v: Any) -> str:
    return f"{float(v):.3f}"


def date(v: Any) -> str:
    return str(v)[:10]


def show(value: Any, formatter: Formatter) -> str:
    """``formatter(value)``, or an en dash for a missing/undefined value."""
    if _missing(value) or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return formatter(value)


def dig(summary: Mapping[str, Any], path: str) -> Any:
    """``summary["a"]["b"]`` for ``path="a.b"`` (None when any part is missing)."""
    value: Any = summary
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


#: (summary.json path, label, formatter) of the metrics table.
METRICS: tuple[tuple[str, str, Formatter], ...] = (
    ("total_return", "Total return", pct),
    ("cagr", "CAGR", pct),
    ("volatility", "Volatility (annual)", pct),
    ("sharpe", "Sharpe", ratio),
    ("sortino", "Sortino", ratio),
    ("calmar", "Calmar", ratio),
    ("max_drawdown", "Max drawdown", pct),
    ("max_drawdown_duration_days", "Longest drawdown (days)", money),
    ("robustness.distribution.skew", "Skew", ratio),
    ("robustness.distribution.kurtosis", "Excess kurtosis", ratio),
    ("robustness.distribution.tail_ratio", "Tail ratio", ratio),
    ("n_trades", "Trades", count),
    ("win_rate", "Win rate", pct),
    ("avg_win", "Average win", money),
    ("avg_loss", "Average loss", money),
    ("profit_factor", "Profit factor", ratio),
    ("expectancy", "Expectancy per trade", money),
    ("turnover", "Turnover (per year)", ratio),
    ("exposure", "Exposure", pct),
    ("initial_cash", "Initial capital", money),
    ("final_equity", "Final equity", money),
    ("total_fees", "Fees", money),
)

#: Robustness rows: (path, label, formatter).
ROBUSTNESS: tuple[tuple[str, str, Formatter], ...] = (
    ("robustness.bootstrap.sharpe.ci_low", "Sharpe 95% CI low", ratio),
    ("robustness.bootstrap.sharpe.ci_high", "Sharpe 95% CI high", ratio),
    ("robustness.bootstrap.cagr.ci_low", "CAGR 95% CI low", pct),
    ("robustness.bootstrap.cagr.ci_high", "CAGR 95% CI high", pct),
    ("robustness.bootstrap.max_drawdown.ci_low", "Max DD 95% CI low", pct),
    ("robustness.bootstrap.max_drawdown.ci_high", "Max DD 95% CI high", pct),
    ("robustness.trade_order.median", "Trade-order MC max DD (median)", pct),
    ("robustness.trade_order.p99", "Trade-order MC max DD (99th pct)", pct),
    ("robustness.deflated_sharpe.value", "Deflated Sharpe (P[true SR > luck])", prob),
    ("robustness.deflated_sharpe.n_trials", "Trials behind the result", count),
    ("robustness.pbo.pbo", "Probability of backtest overfitting", prob),
    ("robustness.capacity.capacity", "Capacity (capital)", money),
    ("robustness.capacity.median_participation", "Median participation", pct),
    ("robustness.kill_switch.max_drawdown", "Kill switch: live drawdown beyond", pct),
    ("robustness.kill_switch.bar_return", "Kill switch: bar loss beyond", pct),
)


def rows_html(
    summaries: Sequence[Mapping[str, Any]], spec: Sequence[tuple[str, str, Formatter]]
) -> str:
    """A table with one row per spec entry and one value column per summary."""
    body = []
    for path, label, f in spec:
        cells = "".join(f"<td>{html.escape(show(dig(s, path), f))}</td>" for s in summaries)
        body.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    return "".join(body)


def frame_html(frame: pd.DataFrame, formats: Mapping[str, Formatter] | None = None) -> str:
    """An HTML table of ``frame`` with per-column formatters (text otherwise)."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            text = show(v, formats[col]) if col in formats else ("–" if _missing(v) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _missing(v: Any) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))
