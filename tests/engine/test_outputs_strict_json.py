"""summary.json is strict JSON: a non-finite number at any depth is written as null."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.analytics.run_robustness import RobustnessInputs
from alphapulse.config import parse_config
from alphapulse.data.panel import Panel
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.runner import run_backtest


def _refuse(token: str) -> float:
    raise ValueError(f"non-standard JSON token {token}")


def test_nested_non_finite_numbers_are_null(tmp_path: Path) -> None:
    t = 30
    close = np.full((t, 1), 100.0)
    ts = pd.date_range("2020-01-01", periods=t, freq="B", tz="UTC").as_unit("ns").asi8
    fields = {"open": close, "high": close, "low": close, "close": close}
    panel = Panel(ts, ("X",), {**fields, "volume": np.full((t, 1), 1e6)})
    cfg = parse_config({"data": {"source": "x"}, "strategies": [{"strategy": "buy_and_hold"}]})
    result = run_backtest(cfg, panel, workers=1)["buy_and_hold"]
    pbo = {"pbo": math.nan, "median_logit": -math.inf, "n_splits": 70.0}
    summary = write_outputs(result, tmp_path, robustness=RobustnessInputs(pbo=pbo))
    text = (tmp_path / "summary.json").read_text()
    loaded = json.loads(text, parse_constant=_refuse)
    assert loaded["robustness"]["pbo"] == {"pbo": None, "median_logit": None, "n_splits": 70.0}
    assert summary["robustness"]["pbo"]["pbo"] is None  # what the run store records
