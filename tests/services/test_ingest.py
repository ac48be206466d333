"""A restarted ``ingest`` resumes after the last stored bar: the bars it stored before
are published again at once (trade skips them) and the next new bar follows without
waiting for a paced replay of the whole history."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg
from alphapulse.config import BacktestConfig, parse_config
from alphapulse.services import FEED_TOPIC
from alphapulse.services.ingest import last_stored_ts, run_ingest
from alphapulse.store import open_store


def _cfg(root: Path, end: str, speed: float) -> BacktestConfig:
    raw: dict[str, Any] = {
        "name": "ing",
        "data": {
            "source": "sp500_daily_2013_2018",
            "symbols": ["AAPL", "MSFT"],
            "start": "2015-01-01",
            "end": end,
            "root": str(root),
        },
        "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 3}}],
        "paper": {"feed": "replay", "speed": speed, "timeframe": "1d"},
    }
    return parse_config(raw, "test")


def _ts(bus: InProcessBus, group: str) -> list[int]:
    sub = bus.subscribe(FEED_TOPIC, group, "c")
    got = []
    for d in sub.poll(timeout=0.0, max_count=1000):
        got.append(d.message)
        sub.ack(d)
    sub.close()
    return [m.ts_ns for m in got if isinstance(m, CrossSectionMsg)]


def test_restarted_ingest_resumes_after_the_stored_bars(shared_data: Path, tmp_path: Path) -> None:
    bus = InProcessBus()
    bus.subscribe(FEED_TOPIC, "first", "c").close()
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        assert last_stored_ts(store, "1d", ("AAPL",)) is None
        first = _cfg(shared_data, "2015-01-09", speed=0.0)  # unpaced
        n = run_ingest(first, store, bus, stop=threading.Event())
        stored = _ts(bus, "first")
        assert len(stored) == n > 0
        assert last_stored_ts(store, "1d", ("AAPL", "MSFT")) == stored[-1]

        # the restart: one replayed day lasts ~3 years, so only unpaced bars come
        bus.subscribe(FEED_TOPIC, "second", "c").close()
        stop = threading.Event()
        second = _cfg(shared_data, "2015-01-31", speed=1e-3)
        result: list[int] = []
        worker = threading.Thread(
            target=lambda: result.append(run_ingest(second, store, bus, stop=stop)), daemon=True
        )
        worker.start()
        seen: list[int] = []
        for _ in range(600):  # wait (up to ~60 s) for the first bar after the stored ones
            seen += _ts(bus, "second")
            if len(seen) > n or not worker.is_alive():
                break
            stop.wait(0.1)
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert seen[:n] == stored  # re-published (trade skips them)
    assert len(seen) == n + 1 and seen[n] > stored[-1]  # the next session, not yet paced
    assert result == [n + 1]


@pytest.mark.parametrize(
    ("symbols", "day"), [(("AAPL",), 3), (("MSFT",), 5), ((), 5), (("AAPL", "MSFT"), 5)]
)
def test_last_stored_ts_is_the_latest_last_bar(
    symbols: tuple[str, ...], day: int, tmp_path: Path
) -> None:
    days = [pd.Timestamp(f"2020-01-0{d}", tz="UTC") for d in (1, 2, 3, 1, 2, 3, 4, 5)]
    df = pd.DataFrame(
        {"symbol": ["AAPL"] * 3 + ["MSFT"] * 5, "timestamp": days}
        | {k: 1.0 for k in ("open", "high", "low", "close", "volume")}
    )
    want = pd.Timestamp(f"2020-01-0{day}", tz="UTC").value
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        store.upsert_bars(df, "1d")
        assert last_stored_ts(store, "1d", symbols) == want
        assert last_stored_ts(store, "1h", symbols) is None


class _Dropping:
    """A replay of ``source`` that drops one bar of MSFT as off-grid, as a polling feed
    does, telling the hook it was given."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.hook: Any = None

    def rows(self) -> Any:
        if self.hook is not None:
            self.hook("off_grid", "MSFT")
        yield from self.source.rows()

    def watch_rejections(self, hook: Any) -> None:
        self.hook = hook

    def close(self) -> None:
        self.source.close()


def test_ingest_exports_the_bars_its_feed_drops(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import CollectorRegistry

    from alphapulse.services import ingest
    from alphapulse.services.health import feed_rejections

    real = ingest.build_source
    monkeypatch.setattr(ingest, "build_source", lambda *a: (_Dropping(real(*a)[0]), *real(*a)[1:]))
    registry = CollectorRegistry()
    hook = feed_rejections(registry)
    with open_store(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        cfg = _cfg(shared_data, "2015-01-09", speed=0.0)
        assert run_ingest(cfg, store, InProcessBus(), stop=threading.Event(), on_reject=hook) > 0
    labels = {"reason": "off_grid", "symbol": "MSFT"}
    assert registry.get_sample_value("alphapulse_feed_rejections_total", labels) == 1.0
