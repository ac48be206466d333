"""The research report page: readable numbers, charts, the drift section summarised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.ml.report import write_report


def research_fixture(out: Path) -> None:
    """A research output folder: two strategies' equity, metrics and 500 drift events."""
    idx = pd.date_range("2016-01-04", periods=300, freq="B", tz="UTC")
    rng = np.random.default_rng(0)
    for name in ("ml", "buy_and_hold"):
        eq = 1e6 * np.cumprod(1 + rng.normal(0.0004, 0.01, len(idx)))
        (out / "runs" / name).mkdir(parents=True)
        pd.DataFrame({"timestamp": idx, "equity": eq}).to_csv(
            out / "runs" / name / "equity.csv", index=False
        )
    rows = []
    for fold in ("0", "1", "overall"):
        for name in ("ml", "buy_and_hold"):
            rows.append(
                {"fold": fold, "start": "2016-01-04", "end": "2017-02-01", "strategy": name,
                 "sharpe": 1.23456, "total_return": 0.123456, "exposure": 0.5, "n_trades": 1234,
                 "fees": 12345.6, "ic": 0.0312 if name == "ml" else None}
            )  # fmt: skip
    kinds = rng.choice(["psi", "ks", "ic_drop"], 500)
    drift = [
        {"timestamp": str(idx[i % 300]), "kind": k, "name": f"f{i % 7}", "value": 0.3}
        for i, k in enumerate(kinds)
    ]
    report = {"name": "demo", "summary": "leakage checks passed", "drift_events": drift}
    write_report(out, report, pd.DataFrame(rows))


def test_research_page_is_readable(tmp_path: Path) -> None:
    research_fixture(tmp_path)
    page = (tmp_path / "report.html").read_text()
    for text in ("<td>1.23</td>", "<td>12.35%</td>", "<td>50.00%</td>", "<td>1,234</td>",
                 "<td>12,346</td>", "<td>0.031</td>", "Drift events (500)"):  # fmt: skip
        assert text in page, text
    assert "<h2>Per fold</h2>" in page and "Equity (growth of 1)" in page
    # summarised: 3 kinds x 7 names = 21 pairs, 15 rows shown, not 500
    assert "21 distinct (kind, name) pairs" in page
    drift_part = page.split("Drift events (500)")[1].split("<h2>")[0]
    assert drift_part.count("<tr>") == 16  # header + 15
