"""Several runs side by side: equity, drawdowns, metrics and return correlations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape

import pandas as pd

from alphapulse.analytics.report import charts, fmt
from alphapulse.analytics.report import stats as st
from alphapulse.analytics.report.loader import RunData
from alphapulse.analytics.report.page import Page


def build_comparison(runs: Sequence[RunData]) -> str:
    """The comparison HTML of ``runs`` (names made unique by their folder when needed)."""
    names = _unique([r.name for r in runs], [r.path.parent.name for r in runs])
    page = Page("Strategy comparison")
    page.note("All figures after fees and slippage.")
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = fmt.rows_html([r.summary for r in runs], fmt.METRICS + fmt.ROBUSTNESS)
    page.heading("Metrics")
    page.html(
        f"<table id='metrics'><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
    curves = {
        n: r.equity_series / float(r.equity_series.iloc[0])
        for n, r in zip(names, runs, strict=True)
    }
    page.heading("Equity (growth of 1)")
    page.chart(charts.log_toggle(charts.lines(curves, "Equity")), 440)
    page.heading("Drawdowns")
    page.chart(charts.underwater({n: st.underwater(c) for n, c in curves.items()}), 320)
    rets = pd.DataFrame({n: st.returns(c) for n, c in curves.items()})
    page.heading("Return correlation")
    page.chart(charts.correlation(rets.corr()), 120 + 40 * len(names))
    return page.render()


def _unique(names: list[str], parents: list[str]) -> list[str]:
    """Display names, one per run: a repeated name gets its folder, and if that repeats
    too (or there is none: a stored run), a number."""
    if len(set(names)) < len(names):
        names = [f"{p}/{n}" if p else n for n, p in zip(names, parents, strict=True)]
    return numbered(names)


def numbered(names: list[str]) -> list[str]:
    """``names`` with every repeated one numbered in order (``x #1``, ``x #2``)."""
    total = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for n in names:
        seen[n] += 1
        out.append(f"{n} #{seen[n]}" if total[n] > 1 else n)
    return out
