"""``alphapulse news score|ic`` on the real folder (VADER only: fast)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from alphapulse.cli import main


def test_score_and_ic(tmp_path, capsys) -> None:
    out = tmp_path / "scores.csv"
    main(["news", "score", "--symbols", "MSFT", "--out", str(out)])
    frame = pd.read_csv(out)
    assert len(frame) == 7359 and frame["score"].between(-1, 1).sum() == (frame["weight"] > 0).sum()
    report = tmp_path / "ic.json"
    main(["news", "ic", "--symbols", "TSLA", "--start", "2021-01-04", "--out", str(report)])
    ic = json.loads(report.read_text())["vader"]["TSLA"]["sent_score@next_day"]
    assert -1 <= ic["ic"] <= 1 and ic["ci_low"] <= ic["ic"] <= ic["ci_high"] and ic["n"] > 300


def test_bad_factor_config_is_one_line(tmp_path, capsys) -> None:
    cfg = tmp_path / "f.yaml"
    cfg.write_text("factor: {halflife: -1}\n")
    with pytest.raises(SystemExit) as exc:
        main(["news", "ic", "--config", str(cfg)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "halflife" in err and len(err.splitlines()) == 1
