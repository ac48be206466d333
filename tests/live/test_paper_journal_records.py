"""A persisted paper session stores its signals, regimes and anomalies (the dashboard's
live panels read them): the same signals and regimes it sent on the bus, the same
anomalies its monitor found, each under the strategy's run; SQLite and PostgreSQL."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from alphapulse.bus import InProcessBus, SignalMsg, Topic
from alphapulse.bus.messages import RegimeMsg
from alphapulse.config import parse_config
from alphapulse.live.session import run_session
from alphapulse.store import open_store
from alphapulse.store.schema import TABLES

from .helpers import paper_cfg

HYBRID = {
    "strategy": "hybrid",
    "name": "hyb",
    "params": {
        "experts": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
        "detector": {"kind": "vol", "window": 5, "lookback": 20, "min_history": 10},
        "regimes": {"calm": {"weights": {"sma_cross": 1}}, "high_vol": {"gross": 0.5}},
    },
}
ANOMALIES = {
    "price": {"low": 2, "medium": 3, "high": 4, "critical": 6},
    "min_periods": 10,
    "pattern": {"enabled": False},
}


def _rows(db_url: str, table: str) -> list[dict[str, Any]]:
    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(TABLES[table])).mappings()]
    finally:
        store.close()


def test_session_stores_signals_regimes_and_anomalies(db_url: str, tmp_path: Path) -> None:
    raw = paper_cfg(strategies=[HYBRID], anomalies=ANOMALIES)
    raw["data"] = {**raw["data"], "symbols": ["AAPL", "MSFT", "XOM"], "end": "2015-09-30"}
    cfg = parse_config(raw)
    bus = InProcessBus()
    sigs = bus.subscribe(Topic.SIGNALS, "audit", "s")
    regs = bus.subscribe(Topic.REGIMES, "audit", "r")
    done = run_session(cfg, db_url=db_url, persist=True, bus=bus, out=tmp_path)
    assert done.runtime.completed
    rid = done.run_ids["hyb"]

    sent = [m.message for m in sigs.poll(max_count=100_000)]
    assert sent and all(isinstance(m, SignalMsg) for m in sent)
    stored = {(r["ts"], r["symbol"], r["name"]): r["value"] for r in _rows(db_url, "signals")}
    expected = {(m.ts_ns, m.symbol, "direction"): m.direction for m in sent}
    expected |= {
        (m.ts_ns, m.symbol, "confidence"): m.confidence for m in sent if m.confidence is not None
    }
    assert stored == expected
    assert {r["run_id"] for r in _rows(db_url, "signals")} == {rid}

    regimes = [m.message for m in regs.poll(max_count=100_000)]
    assert regimes and all(isinstance(m, RegimeMsg) for m in regimes)
    rows = sorted(_rows(db_url, "regimes"), key=lambda r: r["ts"])
    assert [(r["ts"], r["symbol"], r["regime"], r["bars_since_change"]) for r in rows] == [
        (m.ts_ns, m.symbol, m.regime, m.bars_since) for m in regimes
    ]
    assert {r["strategy"] for r in rows} == {"hyb"} and {r["run_id"] for r in rows} == {rid}
    last, msg = rows[-1], regimes[-1]
    assert set(last["probabilities"]) == set(msg.labels)
    assert all(
        math.isclose(last["probabilities"][k], float(p))
        for k, p in zip(msg.labels, msg.probs, strict=True)
    )

    found = pd.read_csv(tmp_path / "hyb" / "anomalies.csv", keep_default_na=False)
    assert len(found) >= 3
    anomalies = _rows(db_url, "anomalies")
    assert sorted((r["ts"], r["symbol"], r["kind"]) for r in anomalies) == sorted(
        zip(
            [pd.Timestamp(t).as_unit("ns").value for t in found["timestamp"]],
            found["symbol"],
            found["type"],
            strict=True,
        )
    )
    assert {r["run_id"] for r in anomalies} == {rid}
    assert {r["detail"]["severity"] for r in anomalies} == set(found["severity"])
