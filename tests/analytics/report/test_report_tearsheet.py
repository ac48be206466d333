"""The tearsheet: numbers equal summary.json, sections present, run ids, clear errors."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from tests.analytics.report.conftest import Runs
from typer.testing import CliRunner

from alphapulse.cli import app, main


def _cell(page: str, label: str) -> str:
    m = re.search(rf"<tr><th>{re.escape(html.escape(label))}</th><td>(.*?)</td>", page)
    assert m is not None, label
    return html.unescape(m.group(1))


def test_report_numbers_equal_summary(runs: Runs) -> None:
    for label in runs.labels:
        page = (runs.dir(label) / "report.html").read_text()
        s = json.loads((runs.dir(label) / "summary.json").read_text())
        rob = s["robustness"]
        expected = {
            "Total return": f"{s['total_return'] * 100:.2f}%",
            "CAGR": f"{s['cagr'] * 100:.2f}%",
            "Sharpe": f"{s['sharpe']:.2f}",
            "Max drawdown": f"{s['max_drawdown'] * 100:.2f}%",
            "Trades": f"{s['n_trades']:,}",
            "Final equity": f"{round(s['final_equity']):,}",
            "Fees": f"{round(s['total_fees']):,}",
            "Skew": f"{rob['distribution']['skew']:.2f}",
            "Excess kurtosis": f"{rob['distribution']['kurtosis']:.2f}",
            "Tail ratio": f"{rob['distribution']['tail_ratio']:.2f}",
            "Sharpe 95% CI low": f"{rob['bootstrap']['sharpe']['ci_low']:.2f}",
            "Max DD 95% CI low": f"{rob['bootstrap']['max_drawdown']['ci_low'] * 100:.2f}%",
            "Deflated Sharpe (P[true SR > luck])": f"{rob['deflated_sharpe']['value']:.3f}",
            "Trials behind the result": "2",
            "Probability of backtest overfitting": f"{rob['pbo']['pbo']:.3f}",
            "Kill switch: live drawdown beyond": f"{rob['kill_switch']['max_drawdown'] * 100:.2f}%",
        }
        for key, text in expected.items():
            assert _cell(page, key) == text, (label, key)
        # the bootstrap interval brackets the reported Sharpe of the same run
        assert rob["bootstrap"]["sharpe"]["estimate"] == pytest.approx(s["sharpe"])
        assert rob["capacity"]["capacity"] is None or rob["capacity"]["capacity"] > 0


def test_report_has_every_section(runs: Runs) -> None:
    page = (runs.dir("sma_cross") / "report.html").read_text()
    for heading in (
        "Equity", "Drawdowns", "Monthly and yearly returns", "Rolling statistics",
        "Exposure and turnover", "Trades", "Contribution per symbol", "Costs", "Risk events",
    ):  # fmt: skip
        assert f"<h2>{heading}</h2>" in page
    assert "https://" not in page.split("<script")[0]  # nothing fetched before the JS
    assert page.count("<script") >= 10  # plotly itself plus one per chart
    bars = len(pd.read_csv(runs.dir("sma_cross") / "equity.csv")) - 1  # returns
    assert f"Rolling Sharpe ({min(126, bars // 4)} bars)" in page  # the window used


def test_report_with_benchmark_run_id_and_regimes(runs: Runs, shared_data: Path) -> None:
    run_dir = runs.dir("sma_cross")
    (run_dir / "regimes.csv").write_text(
        "timestamp,symbol,regime\n2015-07-02,SPY,calm\n2015-08-20,SPY,stress\n"
        "2015-10-01,SPY,calm\n2015-08-21,QQQ,stress\n"
    )
    (run_dir / "anomalies.csv").write_text("timestamp,symbol,score\n2015-08-24,AAPL,4.2\n")
    out = run_dir.parent / "bench.html"
    env = {"ALPHAPULSE_DATA": str(shared_data)}
    args = ["report", str(run_dir), "--benchmark", "AAPL", "--data", "sp500_daily_2013_2018"]
    res = CliRunner().invoke(app, [*args, "--out", str(out)], env=env)
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "Rolling beta to the benchmark" in page and "MAE and MFE per trade" in page
    assert '"name":"anomaly"' in page
    assert page.count('"type":"rect"') == 3  # SPY's three regime spans only
    by_id = run_dir.parent / "by_id.html"
    res = CliRunner().invoke(
        app, ["report", runs.run_ids[0], "--db", runs.db, "--out", str(by_id)], env=env
    )
    assert res.exit_code == 0, res.output
    s = json.loads((run_dir / "summary.json").read_text())
    assert _cell(by_id.read_text(), "Sharpe") == f"{s['sharpe']:.2f}"


def test_compare_page(runs: Runs) -> None:
    out = runs.root / "compare.html"
    res = CliRunner().invoke(
        app, ["compare", *(str(runs.dir(x)) for x in runs.labels), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "<th>sma_cross</th><th>mean_reversion</th>" in page
    assert "Correlation of per-bar returns" in page


def test_compare_draws_every_run_when_names_repeat(runs: Runs, tmp_path: Path) -> None:
    """Two folders ``a/x/sma_cross`` and ``b/x/sma_cross``: the same name and parent, so
    the names are numbered; each run keeps its column and its curve."""
    for side in ("a", "b"):
        shutil.copytree(runs.dir("sma_cross"), tmp_path / side / "x" / "sma_cross")
    out = tmp_path / "compare.html"
    args = [str(tmp_path / s / "x" / "sma_cross") for s in ("a", "b")]
    res = CliRunner().invoke(app, ["compare", *args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "<th>x/sma_cross #1</th><th>x/sma_cross #2</th>" in page
    assert page.count('"name":"x\\u002fsma_cross #2"') == 2  # its equity and drawdown


def test_compare_escapes_run_names(runs: Runs, tmp_path: Path) -> None:
    """A run folder is a data file: its strategy name is text on the page, not markup."""
    evil = tmp_path / "evil"
    shutil.copytree(runs.dir(runs.labels[0]), evil)
    summary = json.loads((evil / "summary.json").read_text())
    summary["strategy"] = "<img src=x onerror=alert(1)>"
    (evil / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "compare.html"
    args = ["compare", str(evil), str(runs.dir(runs.labels[1])), "--out", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "<img src=x" not in page and "<th>&lt;img src=x onerror=alert(1)&gt;</th>" in page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("summary.json", "{bad", "summary.json: line 1: invalid JSON"),
        (
            "equity.csv",
            "timestamp,equity,exposure\n2015-01-02,1,0\nnot-a-date,2,0\n",
            "row 3: timestamp",
        ),
        ("equity.csv", "timestamp,equity\n2015-01-02,1\n", "equity.csv: missing column 'exposure'"),
        (
            "trades.csv",
            "symbol,side,entry_time,exit_time,entry_price,exit_price,quantity,pnl,"
            "bars_held\nA,long,2015-01-02,2015-01-05,1,1,1,abc,1\n",
            "row 2: pnl: not a number",
        ),
        ("summary.json", '{"strategy": "s", "sharpe": "high"}', "summary.json: sharpe: not a"),
        (
            "summary.json",
            '{"strategy": "s", "periods_per_year": "abc"}',
            "summary.json: periods_per_year: not a number",
        ),
    ],
)
def test_bad_run_folder_is_one_line_exit_2(
    runs: Runs,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    message: str,
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(runs.dir("sma_cross"), broken)
    (broken / name).write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(["report", str(broken), "--out", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_costs_chart_shows_the_fills_slippage(monkeypatch: pytest.MonkeyPatch) -> None:
    from alphapulse.analytics.report import charts, tearsheet
    from alphapulse.analytics.report.loader import RunData

    ts = pd.date_range("2020-01-01", periods=40, freq="D", tz="UTC")
    fills = pd.DataFrame(
        {
            "timestamp": ts[[3, 10, 35]],
            "symbol": "A",
            "quantity": 1.0,
            "price": 10.0,
            "fee": [1.0, 2.0, 4.0],
            "slippage": [0.5, 0.25, 3.0],
        }
    )
    equity = pd.DataFrame({"equity": 100.0 + ts.day, "exposure": 0.1}, index=ts)
    run = RunData("s", Path("s"), {"initial_cash": 100.0}, equity, {"fills": fills})
    seen: dict[str, dict[str, pd.Series]] = {}
    draw = charts.lines

    def lines(series: dict[str, pd.Series], title: str, yformat: str = "") -> object:
        seen[title] = series
        return draw(series, title, yformat)

    monkeypatch.setattr(tearsheet.charts, "lines", lines)
    tearsheet.build_report(run)
    costs = seen["Costs per month"]
    assert costs["fees"].tolist() == [3.0, 4.0]
    assert costs["slippage"].tolist() == [0.75, 3.0]  # was all zero


@pytest.mark.parametrize(("held", "shown"), [([None], "–"), ([None, 4, 2], "3.00")])
def test_stored_run_without_holding_times_shows_a_dash(
    tmp_path: Path, held: list[int | None], shown: str
) -> None:
    """A stored round trip may have no ``bars_held`` (NULL): the median holding time is
    over the known ones, a dash when none is known (it read ``nan``)."""
    from alphapulse.analytics.report.stored import load_stored_run
    from alphapulse.analytics.report.tearsheet import build_report
    from alphapulse.store import open_store

    ts = pd.date_range("2020-01-01", periods=4, freq="D", tz="UTC")
    trades = pd.DataFrame(
        {"symbol": "A", "side": "long", "entry_time": ts[0], "entry_price": 1.0,
         "exit_time": ts[2], "exit_price": 2.0, "quantity": 1.0, "pnl": 1.0, "bars_held": held}
    )  # fmt: skip
    equity = pd.DataFrame({"timestamp": ts, "cash": 100.0, "equity": [100.0, 101, 102, 101]})
    with open_store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        rid = store.record_run("held", status="finished")
        store.write_run_outputs(rid, None, None, trades, equity)
        page = build_report(load_stored_run(store, rid))
    assert _cell(page, "Median holding (bars)") == shown
