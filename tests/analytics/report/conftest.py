"""Two real backtests (6 large caps, 2 years) written with --report and recorded in a
SQLite store: the run folders every report test reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alphapulse.cli import app

SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "WMT"]


@dataclass
class Runs:
    root: Path
    labels: list[str]
    run_ids: list[str]
    db: str

    def dir(self, label: str) -> Path:
        return self.root / label


@pytest.fixture(scope="session")
def runs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("report_runs")
    cfg = {
        "name": "report_test",
        "data": {
            "source": "sp500_daily_2013_2018",
            "symbols": SYMBOLS,
            "start": "2015-07-01",
            "end": "2016-12-31",
        },
        "initial_cash": 1_000_000,
        "execution": {
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 2},
        },
        "strategies": [
            {"strategy": "sma_cross", "params": {"fast": 10, "slow": 40}},
            {"strategy": "mean_reversion", "params": {"window": 20, "entry_z": 1.5}},
        ],
    }
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    db = f"sqlite:///{tmp / 'runs.db'}"
    args = ["backtest", str(path), "--out", str(tmp / "out"), "--workers", "1", "--report"]
    result = CliRunner().invoke(app, [*args, "--db", db], env={"ALPHAPULSE_DATA": str(shared_data)})
    assert result.exit_code == 0, result.output
    ids = re.search(r"runs recorded in .*?: (.*)", result.output.replace("\n", " "))
    assert ids is not None, result.output
    return Runs(tmp / "out", ["sma_cross", "mean_reversion"], ids.group(1).strip().split(", "), db)
