"""The backtest command end to end: outputs, table, and clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

CONFIG = """
name: cli-test
data:
  source: sp500_daily_2013_2018
  symbols: [AAPL, MSFT, KO]
  start: "2015-01-01"
  end: "2016-12-31"
initial_cash: 100000
strategies:
  - strategy: buy_and_hold
  - strategy: sma_cross
    name: sma_fast
    params: {fast: 5, slow: 20}
  - strategy: mean_reversion
"""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_backtest_writes_outputs(tmp_path: Path, shared_data: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG)
    out = tmp_path / "out"
    res = _run(["backtest", str(cfg), "--out", str(out)], tmp_path)
    assert res.returncode == 0, res.stderr
    for label in ("buy_and_hold", "sma_fast", "mean_reversion"):
        d = out / label
        s = json.loads((d / "summary.json").read_text())
        assert s["strategy"] == label
        assert s["final_equity"] > 0 and "sharpe" in s and "max_drawdown" in s
        assert label in res.stdout
        eq = pd.read_csv(d / "equity.csv")
        assert list(eq.columns[:4]) == ["timestamp", "equity", "cash", "exposure"]
        assert eq["equity"].iloc[-1] == pytest.approx(s["final_equity"])
        trades = pd.read_csv(d / "trades.csv")
        assert {"symbol", "entry_time", "entry_price", "exit_time", "exit_price", "quantity",
                "pnl", "fees"} <= set(trades.columns)  # fmt: skip
        fills = pd.read_csv(d / "fills.csv")
        orders = pd.read_csv(d / "orders.csv")
        assert set(fills["order_id"]) <= set(orders["order_id"])
        assert len(fills) == s["n_fills"]


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG.replace("fast: 5", "fastt: 5"))
    res = _run(["backtest", str(cfg), "--out", str(tmp_path / "o")], tmp_path)
    assert res.returncode == 2
    assert "params.fastt: unknown key" in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_symbol_is_clear(tmp_path: Path, shared_data: Path) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG.replace("[AAPL, MSFT, KO]", "[AAPL, NOPE]"))
    res = _run(["backtest", str(cfg), "--out", str(tmp_path / "o")], tmp_path)
    assert res.returncode == 2
    assert "NOPE" in res.stderr
    assert "Traceback" not in res.stderr


def test_data_list_with_a_data_folder_that_is_not_there(tmp_path: Path) -> None:
    """It listed every dataset with '-' and exited 0, as if the folder were empty."""
    env = {**os.environ, "ALPHAPULSE_DATA": str(tmp_path / "nowhere")}
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "data", "list"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert res.returncode == 2, res.stderr
    assert "nowhere, which is not a directory" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--out", "afile"], "output folder afile: a file, not a folder"),
        (["paper", "--no-persist", "--out", "afile"], "output folder afile: a file, not"),
        (["backtest", "--workers", "0"], "--workers"),
    ],
    ids=["backtest_out", "paper_out", "workers"],
)
def test_unusable_options_are_one_line_exit_2(
    tmp_path: Path, shared_data: Path, args: list[str], message: str
) -> None:
    """Checked before any run (an --out that is a file failed only after the whole
    run, with a traceback; --workers 0 ran silently)."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG)
    (tmp_path / "afile").write_text("x")
    res = _run([args[0], str(cfg), *args[1:]], tmp_path)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr


def test_help_lists_each_command_on_flowing_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command list kept the docstrings' line breaks: "... until the feed" and
    "ends or SIGINT/SIGTERM." on two lines of a wide terminal."""
    from alphapulse.cli import main

    monkeypatch.setenv("COLUMNS", "250")  # wide enough that nothing wraps
    main(["--help"])
    rows = [ln.strip("│ ") for ln in capsys.readouterr().out.splitlines()]
    for command, sentence in [
        ("ingest", "publish it on the bus until the feed ends or SIGINT/SIGTERM."),
        ("regimes", "write OUT (timestamp, symbol, regime, bars_since, p_<label>...) and print"),
    ]:
        assert any(r.startswith(f"{command} ") and sentence in r for r in rows), rows


def test_the_table_shows_buy_and_hold_beside_the_strategies(
    tmp_path: Path, shared_data: Path
) -> None:
    """Results are judged next to a baseline: without a buy_and_hold strategy in the
    config the table adds its row (same data and costs), not written as an output."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(CONFIG.replace("  - strategy: buy_and_hold\n", ""))
    out = tmp_path / "out"
    res = _run(["backtest", str(cfg), "--out", str(out), "--no-record"], tmp_path)
    assert res.returncode == 0, res.stderr
    row = next(line for line in res.stdout.splitlines() if "buy_and_hold (baseline)" in line)
    alone = tmp_path / "bh.yaml"  # the same run as a strategy of its own
    alone.write_text(CONFIG.split("strategies:")[0] + "strategies:\n  - strategy: buy_and_hold\n")
    res_bh = _run(["backtest", str(alone), "--out", str(tmp_path / "bh"), "--no-record"], tmp_path)
    equity = json.loads((tmp_path / "bh" / "buy_and_hold" / "summary.json").read_text())
    assert f"{equity['final_equity']:,.0f}" in row
    assert sorted(p.name for p in out.iterdir()) == ["mean_reversion", "sma_fast"]
    assert "(baseline)" not in res_bh.stdout  # it is in the config: no second row
    res = _run(["backtest", str(cfg), "--out", str(out), "--no-record", "--no-baseline"], tmp_path)
    assert res.returncode == 0 and "buy_and_hold" not in res.stdout


def test_a_table_without_costs_says_so() -> None:
    """The table's title says what its figures are net of: a config that switched costs
    off (``model: none``) must not print "after costs"."""
    from alphapulse.cli import costs_title
    from alphapulse.config import parse_config

    base = {"data": {"source": "x"}, "strategies": [{"strategy": "buy_and_hold"}]}
    assert costs_title(parse_config(base)) == "after costs"  # on by default
    none = {"model": "none"}
    cases = {
        "NO COMMISSION": {"commission": none},
        "NO SLIPPAGE": {"slippage": none},
        "NO COMMISSION AND NO SLIPPAGE": {"commission": none, "slippage": none},
    }
    for title, execution in cases.items():
        assert costs_title(parse_config({**base, "execution": execution})) == title
