"""A backtest's bars are always checked: with ``data.on_bad`` unset a bad row is kept but
named in one warning line (it used to be traded on without a word), ``reject`` stops on
it and ``quarantine`` sets it aside."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import DataError
from alphapulse.engine.runner import load_data

CSV = """timestamp,open,high,low,close,volume
2024-01-02,100,101,99,100,1000
2024-01-03,100,99,101,100,1000
2024-01-04,100,101,99,100,1000
"""


def _cfg(path: Path, on_bad: str | None) -> object:
    data = {"source": str(path), **({"on_bad": on_bad} if on_bad else {})}
    return parse_config({"data": data, "strategies": [{"strategy": "buy_and_hold"}]})


def test_bad_rows_are_named_whatever_on_bad_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "AAA.csv"
    path.write_text(CSV)
    with caplog.at_level(logging.WARNING, logger="alphapulse.data.catalog"):
        kept = load_data(_cfg(path, None))  # type: ignore[arg-type]
    (line,) = [r.getMessage() for r in caplog.records]
    assert f"file {path}, line 3, field 'high', rule high_low_bound" in line
    assert "kept as they are" in line and "\n" not in line
    np.testing.assert_array_equal(kept.fields["high"][:, 0], [101.0, 99.0, 101.0])
    with pytest.raises(DataError, match="line 3, field 'high', rule high_low_bound"):
        load_data(_cfg(path, "reject"))  # type: ignore[arg-type]
    quarantined = load_data(_cfg(path, "quarantine"))  # type: ignore[arg-type]
    assert quarantined.n_bars == 2


def test_clean_bars_load_without_a_word(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "AAA.csv"
    path.write_text(CSV.replace("2024-01-03,100,99,101", "2024-01-03,100,101,99"))
    with caplog.at_level(logging.WARNING):
        assert load_data(_cfg(path, None)).n_bars == 3  # type: ignore[arg-type]
    assert not caplog.records
