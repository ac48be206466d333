"""The ``alphapulse optimize`` page: stitched out-of-sample equity beside buy and hold's
over the same bars, parameter stability, in- vs out-of-sample objective per window,
deflated Sharpe and PBO."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from alphapulse.analytics.report import charts, fmt
from alphapulse.analytics.report.page import Page

OOS_ROWS: tuple[tuple[str, str, fmt.Formatter], ...] = (
    ("oos.sharpe", "Out-of-sample Sharpe", fmt.ratio),
    ("oos.cagr", "Out-of-sample CAGR", fmt.pct),
    ("oos.max_drawdown", "Out-of-sample max drawdown", fmt.pct),
    ("oos.deflated_sharpe", "Deflated Sharpe", fmt.prob),
    ("oos.pbo", "Probability of backtest overfitting", fmt.prob),
    ("oos.switching_cost", "Switching costs charged", fmt.money),
    ("n_sets", "Parameter sets evaluated", fmt.count),
    ("oos.n_bars", "Out-of-sample bars", fmt.count),
)


def optimize_html(result: dict[str, Any]) -> str:
    page = Page(f"Walk-forward optimisation: {result['strategy']} ({result['method']})")
    page.note(f"Objective: {result['objective']}; all figures after costs.")
    base = {"oos": result["baseline"]["buy_and_hold"]}  # the same rows, where it has them
    head = "<thead><tr><th></th><th>Optimised</th><th>Buy and hold</th></tr></thead>"
    rows = fmt.rows_html([result, base], OOS_ROWS)
    page.html(f"<table id='metrics'>{head}<tbody>{rows}</tbody></table>")
    eq = result["oos_equity"]
    index = pd.DatetimeIndex(pd.to_datetime(eq["timestamp"]))
    curves = {"out of sample": pd.Series(eq["equity"], index=index)}
    curves["buy and hold"] = pd.Series(eq["buy_and_hold"], index=index)
    page.heading("Stitched out-of-sample equity")
    page.chart(charts.log_toggle(charts.lines(curves, "Equity")), 380)
    win = pd.DataFrame(result["windows"])
    params = pd.DataFrame(list(win["params"]))
    page.heading("Parameter stability")
    fig = go.Figure()
    for name in params.columns:
        fig.add_trace(
            go.Scatter(x=win["test_start"], y=params[name], name=str(name), mode="lines+markers")
        )
    fig.update_layout(title="Chosen parameters per window (by test start)")
    page.chart(fig, 320)
    page.heading("In sample vs out of sample")
    fig = go.Figure(
        [
            go.Bar(x=win["test_start"], y=win["in_sample"], name="in sample"),
            go.Bar(x=win["test_start"], y=win["out_of_sample"], name="out of sample"),
        ]
    )
    fig.update_layout(title=f"{result['objective']} per window", barmode="group")
    page.chart(fig, 320)
    table = pd.concat([win.drop(columns=["params"]), params], axis=1)
    formats = {"in_sample": fmt.ratio, "out_of_sample": fmt.ratio, "switch_cost": fmt.money}
    page.html(fmt.frame_html(table, formats))
    page.note(
        "Each window's set is chosen on its training bars only; switch_cost is what trading"
        " into its set's holdings cost (window 0: from cash), charged to the stitched equity."
    )
    return page.render()
