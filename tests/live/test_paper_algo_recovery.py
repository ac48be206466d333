"""A paper session whose VWAP parent is working when the process dies (in-process crash
after a journaled step) resumes it on restart: the database ends with the orders, fills
and ``executions`` rows of an uninterrupted session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from alphapulse.analytics.execution_quality import execution_frame
from alphapulse.cli import main
from alphapulse.config import parse_config
from alphapulse.core.errors import SettingError
from alphapulse.live import journal
from alphapulse.live.journal import run_id_for
from alphapulse.live.session import run_session
from alphapulse.store import open_store
from alphapulse.store.schema import TABLES

from .helpers import Crash, paper_cfg, stored_table

COMPARED = ("orders", "fills", "executions", "positions", "portfolio_cash", "portfolio_snapshots")
CRASH_AFTER = 30  # journaled steps before the first working parent that may end the process


def _raw(session: str) -> dict[str, Any]:
    raw = paper_cfg()
    span = {"start": "2016-06-01", "end": "2016-09-30"}
    raw["data"] = {**raw["data"], "symbols": ["AAPL", "MSFT", "KO"], **span}
    raw["risk"] = {}
    raw["strategies"] = [
        {
            "strategy": "sma_cross",
            "name": "vwap",
            "params": {"fast": 3, "slow": 10},
            "execution": {"algo": "vwap", "horizon": "5d", "max_participation": 0.05},
        }
    ]
    raw["paper"] = {**raw["paper"], "session": session}
    return raw


def _crash_mid_parent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the journal die after a commit that left a part-filled parent working."""
    commit = journal.RunJournal.commit
    seen: list[int] = []

    def dying(self: journal.RunJournal, ts_ns: int, messages: Any = ()) -> None:
        commit(self, ts_ns, messages)
        seen.append(ts_ns)
        algo = self.engine.algo
        working = [p for p in algo.working() if 0 < p.filled < p.quantity] if algo else []
        if len(seen) > CRASH_AFTER and working:
            raise Crash(working[0].id)

    monkeypatch.setattr(journal.RunJournal, "commit", dying)
    return seen


def test_working_parent_survives_a_restart(
    db_url: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = parse_config(_raw("crashed"))
    rid = run_id_for("crashed", "vwap")
    seen = _crash_mid_parent(monkeypatch)
    with pytest.raises(Crash) as crash:
        run_session(cfg, db_url=db_url)
    parent_id = int(crash.value.args[0])
    monkeypatch.undo()
    with open_store(db_url) as store:
        ex = TABLES["executions"]
        query = select(ex.c.status, ex.c.filled, ex.c.quantity).where(
            ex.c.run_id == rid, ex.c.parent_id == parent_id
        )
        with store.engine.connect() as conn:
            status, filled, qty = conn.execute(query).one()
        assert status == "working" and 0 < filled < qty  # journaled mid-parent
    restarted = run_session(cfg, db_url=db_url).results["vwap"]
    assert restarted.timestamps[-1] > seen[-1]  # it went on past the crash
    ref = run_session(parse_config(_raw("reference")), db_url=db_url).results["vwap"]
    with open_store(db_url) as store:
        ref_id = run_id_for("reference", "vwap")
        for table in COMPARED:
            pd.testing.assert_frame_equal(
                stored_table(store, table, rid), stored_table(store, table, ref_id)
            )
        rows = stored_table(store, "executions", rid)
    want = execution_frame(ref.executions, ref.fills)
    assert len(rows) == len(want) > 5
    assert rows.set_index("parent_id")["status"].loc[parent_id] != "working"
    assert (rows["n_children"] > 1).any()


def test_settings_that_do_not_fit_the_bars_stop_the_session(
    db_url: str, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Session hours no longer than a (daily) bar: the step that finds it stops the whole
    session with the SettingError (the CLI's one line, exit 2) before it is journaled,
    rather than a strategy error on every bar after; the steps before it stay stored,
    and a restart replays them and stops at the same step."""
    raw = _raw("bad-hours")
    raw["strategies"][0]["execution"]["session"] = ["09:30", "16:00"]
    raw["strategies"].append({"strategy": "momentum", "params": {"lookback": 5}})
    runs = [run_id_for("bad-hours", s) for s in ("vwap", "momentum")]

    def stored() -> list[int]:
        with open_store(db_url) as store:
            return [len(store.read_table("portfolio_snapshots", rid)) for rid in runs]

    with pytest.raises(SettingError, match=r"execution\.session 09:30-16:00: 390 minutes"):
        run_session(parse_config(raw), db_url=db_url)
    first = stored()
    assert 0 < first[0] == first[1] < 10  # both strategies stopped at the same step
    config = tmp_path / "bad-hours.yaml"
    config.write_text(yaml.safe_dump(raw))
    with pytest.raises(SystemExit) as stop:
        main(["paper", str(config), "--db", db_url])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err
    assert "error: execution.session 09:30-16:00: 390 minutes" in err.replace("\n", " ")
    assert stored() == first
