"""Paper trading with an ``anomalies:`` block: the same anomalies as the batch scan of the
same bars, on the bus, in anomalies.csv and in the Prometheus counters."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd

from alphapulse.anomaly.detector import scan_panel
from alphapulse.api.metrics import Metrics
from alphapulse.bus import AnomalyMsg, InProcessBus, Topic
from alphapulse.config import parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.runner import load_data
from alphapulse.live.session import run_session

from .helpers import paper_cfg

ANOMALIES = {
    "price": {"low": 3, "medium": 4, "high": 6, "critical": 10},
    "pattern": {"window": 60, "refit_every": 60, "n_estimators": 10},
    "alerts": {"min_severity": "high"},
}


def test_paper_anomalies_match_the_batch_scan(tmp_path: Path) -> None:
    raw = paper_cfg(anomalies=ANOMALIES)
    raw["data"] = {**raw["data"], "start": "2016-01-01", "end": "2016-12-31"}
    raw["strategies"] = raw["strategies"][:1]
    cfg = parse_config(raw)
    bus, metrics = InProcessBus(), Metrics()
    sub = bus.subscribe(Topic.ANOMALIES, "audit", "a")
    done = run_session(cfg, persist=False, bus=bus, metrics=metrics, out=tmp_path)
    assert done.runtime.completed
    expected = scan_panel(load_data(cfg), cfg.anomalies)  # type: ignore[arg-type]
    assert len(expected) >= 5
    label = cfg.strategies[0].label
    got = pd.read_csv(tmp_path / label / "anomalies.csv")
    assert got["message"].tolist() == expected["message"].tolist()
    msgs = [d.message for d in sub.poll(max_count=10_000)]
    assert all(isinstance(m, AnomalyMsg) for m in msgs)
    pairs = sorted((m.ts_ns, m.symbol, m.kind) for m in msgs)
    ts = expected.timestamp.astype("int64")
    assert pairs == sorted(zip(ts, expected.symbol, expected.type, strict=True))
    first = next(
        m for m in msgs if (m.symbol, m.kind) == tuple(expected.iloc[0][["symbol", "type"]])
    )
    assert json.loads(first.detail)["severity"] == expected["severity"].iloc[0]
    for (kind, sev), group in expected.groupby(["type", "severity"]):
        labels = {"type": kind, "severity": sev}
        assert metrics.registry.get_sample_value("alphapulse_anomalies_total", labels) == len(group)


def test_a_restart_does_not_publish_the_replayed_anomalies_again(tmp_path: Path) -> None:
    """A restarted session replays its journaled steps through the monitor (its detector
    needs the history) but routed their anomalies the first time: they are neither
    published nor counted again (they were: a restart sent every earlier one twice)."""
    raw = paper_cfg(anomalies=ANOMALIES)
    raw["data"] = {**raw["data"], "start": "2016-01-01", "end": "2016-12-31"}
    raw["strategies"] = raw["strategies"][:1]
    raw["paper"] = {**raw["paper"], "persist": True, "db_url": f"sqlite:///{tmp_path / 'p.db'}"}
    cfg = parse_config(raw)
    expected = scan_panel(load_data(cfg), cfg.anomalies)  # type: ignore[arg-type]
    cut = int(expected.timestamp.astype("int64").iloc[len(expected) // 2])
    published = []
    for stop_at in (cut, None):
        bus, stop = InProcessBus(), threading.Event()
        sub = bus.subscribe(Topic.ANOMALIES, "audit", "a")

        def hook(
            bar: BarSlice, stop_at: int | None = stop_at, stop: threading.Event = stop
        ) -> None:
            if stop_at is not None and bar.ts_ns >= stop_at:
                stop.set()

        run_session(cfg, bus=bus, stop=stop, on_step=hook)
        published.append(sorted((m.ts_ns, m.symbol, m.kind) for d in sub.poll(max_count=10_000)
                                if isinstance(m := d.message, AnomalyMsg)))  # fmt: skip
    first, second = published
    assert first and max(t for t, _, _ in first) == cut  # stopped after the cut's bar
    assert second and min(t for t, _, _ in second) >= cut  # the replay before it is quiet
    ts = expected.timestamp.astype("int64")
    every = sorted(zip(ts, expected.symbol, expected.type, strict=True))
    assert sorted(set(first) | set(second)) == every  # none lost
    assert [p for p in second if p in first] == [p for p in second if p[0] == cut]
