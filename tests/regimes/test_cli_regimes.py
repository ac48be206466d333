"""``alphapulse regimes`` on SPY daily 1999-2020: late 2008 and March 2020 are high-vol;
the CSV, the timeline and the self-contained plot; a bad detector is one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("detector", ["vol", "changepoint"])
def test_spy_crises_are_high_vol(tmp_path: Path, shared_data: Path, detector: str) -> None:
    out, html = tmp_path / "spy.csv", tmp_path / "spy.html"
    res = _cli(
        [
            "regimes",
            "daily_adjusted_with_actions_1999_2020",
            "--symbols",
            "SPY",
            "--detector",
            detector,
            "--out",
            str(out),
            "--plot",
            str(html),
            "--root",
            str(shared_data),
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out, parse_dates=["timestamp"])
    assert list(df.columns[:4]) == ["timestamp", "symbol", "regime", "bars_since"]
    assert {"p_calm", "p_high_vol"} <= set(df.columns)
    at = df.set_index("timestamp")["regime"]
    assert (at["2008-10-01":"2008-11-30"] == "high_vol").mean() > 0.9
    assert (at["2020-03-09":"2020-03-31"] == "high_vol").mean() > 0.9
    assert (at["2013-01-01":"2013-12-31"] == "calm").mean() > 0.7
    assert "high_vol" in res.stdout and "2008" in res.stdout
    text = html.read_text()
    assert "<script" in text and "<script src=" not in text and "SPY high_vol" in text


def test_unknown_detector_is_one_line(tmp_path: Path) -> None:
    res = _cli(
        ["regimes", "x", "--symbols", "SPY", "--detector", "nope", "--out", "a.csv"], tmp_path
    )
    assert res.returncode == 2
    assert "--detector: 'nope'" in res.stderr and "Traceback" not in res.stderr


def test_n_states_with_another_detector_is_refused(tmp_path: Path) -> None:
    args = ["regimes", "x", "--symbols", "SPY", "--detector", "vol", "--n-states", "3"]
    res = _cli([*args, "--out", "a.csv"], tmp_path)
    assert res.returncode == 2
    assert "--n-states: only for --detector hmm" in res.stderr and "Traceback" not in res.stderr
