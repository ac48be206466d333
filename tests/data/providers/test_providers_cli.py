"""``alphapulse data fetch`` end to end against recorded Yahoo responses served locally:
bars and the provider's corporate actions land in the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tests.data.providers.test_providers_yfinance import recorded_chart
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.store import open_store


def test_fetch_stores_bars_and_actions(recorded_server, tmp_path: Path) -> None:
    server = recorded_server("yahoo_session", "yahoo_chart_NVDA_1d")
    db = f"sqlite:///{tmp_path / 'fetch.sqlite'}"
    args = ["data", "fetch", "--provider", "yfinance", "--symbol", "NVDA"]
    args += ["--start", "2024-06-03", "--end", "2024-06-22", "--timeframe", "1d"]
    args += ["--base-url", server.url, "--db", db]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    with open_store(db) as store:
        bars = store.read_bars("NVDA", "1d")
        actions = store.read_corporate_actions("NVDA")
    assert len(bars) >= 10
    assert (bars["close"] > 0).all()
    split = actions[actions["action"] == "split"]
    assert len(split) == 1 and split["value"].iloc[0] == 10.0


def test_fetch_names_the_symbols_without_bars(recorded_server, tmp_path: Path) -> None:
    """A symbol the provider answered with no bars was left out of the line printed
    ("yfinance: 14 bars for NVDA, AMD"): which one came back empty was not said."""
    server = recorded_server("yahoo_session", "yahoo_chart_NVDA_1d")
    probe, history = (recorded_chart("yahoo_chart_NVDA_1d", i) for i in (0, 1))
    empty = {"meta": history["meta"], "indicators": {"quote": [{}]}}
    replies = ({"chart": {"result": [r], "error": None}} for r in (probe, empty))
    server.inject("/v8/finance/chart/AMD", *((200, r) for r in replies))
    args = ["data", "fetch", "--provider", "yfinance", "--symbol", "NVDA", "--symbol", "AMD"]
    args += ["--start", "2024-06-03", "--end", "2024-06-22", "--timeframe", "1d"]
    args += ["--base-url", server.url, "--db", f"sqlite:///{tmp_path / 'fetch.sqlite'}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "yfinance: 14 bars for NVDA, AMD" in res.output
    assert "no bars for: AMD\n" in res.output


def test_fetched_and_imported_daily_bars_share_their_stamps(
    recorded_server, tmp_path: Path
) -> None:
    server = recorded_server("yahoo_session", "yahoo_chart_NVDA_1d")
    db = f"sqlite:///{tmp_path / 'fetch.sqlite'}"
    csv = tmp_path / "NVDA.csv"
    csv.write_text(
        "date,open,high,low,close,volume\n"
        "2024-06-03,109.44,116.26,107.27,114.99,295763966\n"
        "2024-06-04,115.23,118.94,113.94,116.44,248545824\n"
    )
    fetch = ["data", "fetch", "--provider", "yfinance", "--symbol", "NVDA", "--timeframe", "1d"]
    fetch += ["--start", "2024-06-03", "--end", "2024-06-22", "--base-url", server.url]
    for args in ([*fetch, "--db", db], ["data", "import", str(csv), "--db", db]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
    with open_store(db) as store:
        stamps = store.read_bars("NVDA", "1d").index
    assert len(stamps) == 14  # the imported days replaced the fetched ones
    assert stamps[0] == pd.Timestamp("2024-06-03", tz="UTC")
