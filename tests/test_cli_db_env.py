"""A malformed ``$ALPHAPULSE_DB_URL`` (or ``--db``) is one ``error:`` line and exit 2 for
every command that opens the database, never a SQLite file silently made of its text
(``paper`` of a valid config used to run and journal into a new file ``./garbage``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli_run import run

CONFIG = """
name: db-env
data: {source: DATA, symbols: [AAA], start: "2015-01-01", end: "2015-01-31"}
strategies: [{strategy: buy_and_hold}]
paper: {speed: 0}
"""
COMMANDS = [["paper", "run.yaml"], ["ingest", "run.yaml"], ["trade", "run.yaml"], ["serve"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
@pytest.mark.parametrize("via", ["env", "option"])
def test_malformed_db_url_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], via: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    days = pd.bdate_range("2015-01-01", "2015-01-31").strftime("%Y-%m-%d")
    bars = {"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 100}
    pd.DataFrame({"timestamp": days, **bars}).to_csv(data / "AAA.csv", index=False)
    work = tmp_path / "work"
    work.mkdir()
    (work / "run.yaml").write_text(CONFIG.replace("DATA", str(data)))
    monkeypatch.chdir(work)
    if via == "env":
        monkeypatch.setenv("ALPHAPULSE_DB_URL", "garbage")
    else:
        monkeypatch.delenv("ALPHAPULSE_DB_URL", raising=False)
        argv = [*argv, "--db", "garbage"]
    rc, err = run(argv)
    assert rc == 2, err
    assert "Traceback" not in err and "'garbage'" in err, err
    assert sum(ln.startswith(("error:", "Error:")) for ln in err.splitlines()) == 1, err
    assert sorted(p.name for p in work.iterdir()) == ["run.yaml"]  # no database "garbage"
