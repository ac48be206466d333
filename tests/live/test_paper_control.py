"""Strategies switched off through the API (``api.control.set_enabled``) stop trading:
their engine still steps and marks to market but the strategy is not called; switched
on again, they trade again. The switches are read at most every ``control_interval``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alphapulse.api.control import set_enabled
from alphapulse.config import parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.live.outlets import StrategyControl
from alphapulse.live.session import run_session
from alphapulse.store import open_store

from .helpers import assert_same_run, order_tuples, paper_cfg
from .test_paper_bus import SHORT

OFF, ON = 40, 120  # steps: the switch is flipped after step OFF-1 and after ON-1


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
