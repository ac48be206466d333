"""The hybrid in a persisted paper session: one RegimeMsg per step on the bus, written
to the outbox with the journal rows, regime changes flagged with the regime before;
HMM refits run in the background (each model fitted on data up to t' <= its first use)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from alphapulse.bus import InProcessBus, Topic
from alphapulse.bus.codec import decode
from alphapulse.bus.messages import RegimeMsg
from alphapulse.config import parse_config
from alphapulse.live.session import run_session
from alphapulse.store import open_store
from alphapulse.store.schema import TABLES
from alphapulse.strategies.hybrid import Hybrid
from tests.live.helpers import paper_cfg

DATA = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "KO"],
        "start": "2016-01-01", "end": "2016-09-30"}  # fmt: skip
HYBRID = {
    "strategy": "hybrid",
    "name": "hy",
    "params": {
        "experts": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
        "detector": {"kind": "hmm", "min_train": 40, "refit_every": 30, "n_iter": 5},
        "regimes": {"calm": {}, "high_vol": {"gross": 0.5}},
    },
}


@pytest.mark.usefixtures("shared_data")
def test_regimes_go_through_the_outbox(tmp_path: Path) -> None:
    cfg = parse_config(paper_cfg(data=DATA, strategies=[HYBRID], risk=None))
    db_url = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    bus = InProcessBus(maxlen=None)
    sub = bus.subscribe(Topic.REGIMES, "test", "c1")
    done = run_session(cfg, db_url=db_url, bus=bus)
    got = [d.message for d in sub.poll(timeout=0.5, max_count=10_000)]
    hyb = done.runtime.engines["hy"].strategy
    assert isinstance(hyb, Hybrid) and hyb.detector is not None
    rows = hyb.strategy_outputs()["regimes"]
    assert all(isinstance(m, RegimeMsg) for m in got)
    assert [m.ts_ns for m in got] == done.results["hy"].timestamps.tolist()
    assert [m.regime for m in got] == rows["regime"].tolist()
    assert [m.bars_since for m in got] == rows["bars_since"].tolist()
    assert {m.source for m in got} == {"hy"} and {m.symbol for m in got} == {"market"}
    assert all(m.labels == ("calm", "high_vol") for m in got)
    events = hyb.strategy_outputs()["regime_events"]
    changes = [(m.ts_ns, m.previous, m.regime) for m in got if m.previous]
    ev = zip(events["timestamp"], events["from"], events["to"], strict=True)
    want = [(t.value, a, b) for t, a, b in ev]
    assert changes == want
    with open_store(db_url) as store:  # written to the outbox with the journal rows
        t = TABLES["bus_outbox"]
        with store.engine.connect() as conn:
            stored = conn.execute(select(t.c.payload).where(t.c.topic == Topic.REGIMES)).all()
    assert [decode(p).ts_ns for (p,) in stored] == [m.ts_ns for m in got]
    fits = hyb.strategy_outputs().get("regime_fits")
    assert fits is not None and (fits["data_until"] <= fits["used_from"]).all()
    assert hyb.detector._pool is not None  # type: ignore[attr-defined]  # paper: background
