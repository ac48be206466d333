"""Reading a run folder: a broken file is one DataError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphapulse.analytics.report import load_run
from alphapulse.core.errors import DataError


def test_summary_not_utf8_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_bytes(b'\xff\xfe{"strategy": "s"}')
    (tmp_path / "equity.csv").write_text("timestamp,equity,exposure\n2020-01-02,1,0\n")
    with pytest.raises(DataError, match=r"summary\.json: not UTF-8 text"):
        load_run(tmp_path)
