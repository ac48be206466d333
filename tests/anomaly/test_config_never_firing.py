"""Settings under which a configured detector or reaction can never fire are refused,
naming the key: a forest score is below 1, and ``reaction.types: []`` matches no type
(both were accepted and then silently did nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from alphapulse.anomaly import AnomalyConfig
from alphapulse.anomaly.config import PatternConfig
from alphapulse.cli import main


def test_pattern_levels_at_or_above_one_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"pattern.thresholds\n.*below 1"):
        AnomalyConfig.model_validate(
            {"pattern": {"thresholds": {"low": 0.7, "medium": 0.8, "high": 0.9, "critical": 1}}}
        )
    ok = PatternConfig(thresholds={"low": 0.6, "medium": 0.7, "high": 0.8, "critical": 0.99})
    assert ok.thresholds.critical == 0.99


def test_an_empty_reaction_type_list_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"reaction.types\n.*reacts to no anomaly"):
        AnomalyConfig.model_validate({"reaction": {"types": []}})
    assert AnomalyConfig.model_validate({"reaction": {}}).reaction.types is None  # type: ignore[union-attr]


def test_the_cli_names_the_key_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text("anomalies: {reaction: {types: []}}\n")
    with pytest.raises(SystemExit) as exc:
        main(["anomalies", "scan", "any", "--config", str(cfg), "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "reaction.types" in err and "Traceback" not in err
    assert err.splitlines()[0].startswith(f"error: {cfg}: anomalies")
