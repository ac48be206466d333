"""Strategies switched off through the API (``api.control.set_enabled``) stop trading:
their engine still steps and marks to market but the strategy is not called; switched
on again, they trade again. The switches are read at most every ``control_interval``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.api.control import set_enabled
from alphapulse.config import parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.live import journal
from alphapulse.live.journal import run_id_for
from alphapulse.live.outlets import StrategyControl
from alphapulse.live.session import run_session
from alphapulse.store import open_store

from .helpers import Crash, assert_same_run, order_tuples, paper_cfg, stored_table
from .test_paper_bus import SHORT

OFF, ON = 40, 120  # steps: the switch is flipped after step OFF-1 and after ON-1
RECORDED = ("orders", "fills", "positions", "portfolio_cash", "portfolio_snapshots")


def test_disable_and_enable_through_the_api(shared_data: Path, tmp_path: Path) -> None:
    raw = paper_cfg(data=SHORT, risk=None, paper={"control_interval": 0})
    cfg = parse_config(raw)
    db_url = f"sqlite:///{tmp_path / 'paper.sqlite'}"

    def flip(bar: BarSlice) -> None:
        if bar.t in (OFF - 1, ON - 1):
            set_enabled(db_url, "mean_reversion", bar.t == ON - 1)

    done = run_session(cfg, db_url=db_url, on_step=flip)
    reference = run_session(cfg, persist=False).results
    for label in ("sma_cross", "momentum"):
        assert_same_run(done.results[label], reference[label])

    r, ref = done.results["mean_reversion"], reference["mean_reversion"]
    ts = r.timestamps
    assert len(ts) == done.runtime.steps == len(ref.timestamps)  # stepped every bar
    created = np.array([o.created_ns for o in r.orders])
    assert not ((created >= ts[OFF]) & (created < ts[ON])).any()  # no orders while off
    assert (created >= ts[ON]).any()  # trading again once on
    before = [o[:7] for o in order_tuples(ref) if o[6] < ts[OFF]]  # as created
    assert [o[:7] for o in order_tuples(r) if o[6] < ts[OFF]] == before
    np.testing.assert_array_equal(r.equity[:OFF], ref.equity[:OFF])
    held = np.diff(r.equity[OFF:ON])  # marked to market while off, with positions held
    assert (held != 0).any()
    with open_store(db_url) as store:
        snaps = store.read_table("portfolio_snapshots", done.run_ids["mean_reversion"])
    assert len(snaps) == len(ts)


def test_switches_are_read_at_most_every_interval(tmp_path: Path) -> None:
    now = [0.0]
    with open_store(f"sqlite:///{tmp_path / 'c.sqlite'}") as store:
        control = StrategyControl(store, ["a", "b"], interval=1.0, clock=lambda: now[0])
        assert control.disabled() == frozenset()  # no table yet: everything on
        set_enabled(store, "a", False)
        now[0] = 0.5
        assert control.disabled() == frozenset()  # not read again yet
        now[0] = 1.0
        assert control.disabled() == {"a"}
        set_enabled(store, "a", True)
        set_enabled(store, "b", False)
        now[0] = 2.5
        assert control.disabled() == {"b"}


def _down(*args: Any) -> None:
    raise RuntimeError("database down")


@pytest.mark.parametrize("down", [False, True], ids=["up", "down_at_switches"])
def test_a_restart_replays_the_switches_as_they_ran(
    db_url: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch, down: bool
) -> None:
    """Switched off, on and off again; the process dies while off and restarts with the
    switch still off. The replay runs every step switched as it ran (the switches are
    journaled with their step, also when the database was down at that step and the
    write went with the next one), so the database ends as an uninterrupted session's."""
    label, flips, crash_after = "mean_reversion", {40: False, 100: True, 140: False}, 160

    def cfg(session: str) -> Any:
        paper = {"feed": "replay", "speed": 0, "control_interval": 0, "session": session}
        return parse_config(paper_cfg(data=SHORT, risk=None, paper=paper))

    def flip(bar: BarSlice) -> None:
        if bar.t + 1 in flips:
            set_enabled(db_url, label, flips[bar.t + 1])

    run_session(cfg("reference"), db_url=db_url, on_step=flip)
    set_enabled(db_url, label, True)
    commit, seen = journal.RunJournal.commit, []

    def dying(self: journal.RunJournal, ts_ns: int, messages: Any = ()) -> None:
        step = seen.count(label) if self.label == label else None
        seen.append(self.label)
        if down and step in flips:
            with monkeypatch.context() as m, pytest.raises(RuntimeError, match="down"):
                m.setattr(journal, "run_tx", _down)
                commit(self, ts_ns, messages)  # this step's write fails: retried next step
            return
        commit(self, ts_ns, messages)
        if seen.count(label) == crash_after:
            raise Crash

    monkeypatch.setattr(journal.RunJournal, "commit", dying)
    with pytest.raises(Crash):
        run_session(cfg("crashed"), db_url=db_url, on_step=flip)
    monkeypatch.undo()
    run_session(cfg("crashed"), db_url=db_url)  # still switched off
    with open_store(db_url) as store:
        for table in (*RECORDED, "strategy_switches"):
            got, want = (
                stored_table(store, table, run_id_for(s, label)) for s in ("crashed", "reference")
            )
            pd.testing.assert_frame_equal(got, want)
        switches = store.read_table("strategy_switches", run_id_for("crashed", label))
    assert switches["enabled"].tolist() == [False, True, False]
