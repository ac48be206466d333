"""A network feed's bar that the store would refuse (high below the close, a zero price, a
missing volume...) is dropped by the cross-sections, logged and counted: the engines do
not trade on it, and a persisted session's rows stay exactly what it stored, so a
restart replays the same rows (before, the whole cross-section failed to store while
the step was journaled, and the restart replayed an all-NaN row instead)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.live.bars import OHLCV, BarRow, CrossSections
from alphapulse.live.session import run_session

from .helpers import Crash, assert_same_run

H = 3_600_000_000_000
T0 = 1_700_000_000_000_000_000 // H * H
SYMBOLS = ("BTC/USDT", "ETH/USDT")
N, BAD, CRASH = 40, 10, 15


def _bar(price: float, **over: float) -> dict[str, float]:
    return {"open": price, "high": price, "low": price, "close": price, "volume": 1.0, **over}


@pytest.mark.parametrize(
    "over",
    [{"high": 0.9}, {"low": 1.1}, {"open": 0.0, "low": 0.0}, {"volume": -1.0},
     {"volume": float("nan")}, {"close": float("inf")}],
)  # fmt: skip
def test_invalid_bar_is_dropped_and_logged(
    over: dict[str, float], caplog: pytest.LogCaptureFixture
) -> None:
    cs = CrossSections(("A", "B"), grace=0.0)
    assert cs.add("A", 10, _bar(1.0))
    with caplog.at_level(logging.WARNING):
        assert not cs.add("B", 10, _bar(1.0, **over))
    assert cs.invalid == 1
    assert "bar of B at 10 rejected" in caplog.text
    (row,) = cs.ready()
    assert row.fields["close"][0] == 1.0 and np.isnan([row.fields[k][1] for k in OHLCV]).all()


def _rows() -> list[tuple[int, dict[str, np.ndarray]]]:
    """Hourly bars of two symbols; at bar ``BAD`` ETH's high is below its open and close."""
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (N, 2)), axis=0))
    out = []
    for i in range(N):
        c = close[i]
        o = close[i - 1] if i else c
        high = np.maximum(o, c) * 1.01
        if i == BAD:
            high[1] = np.minimum(o, c)[1] * 0.999
        fields = {"open": o, "high": high, "low": np.minimum(o, c) * 0.99, "close": c,
                  "volume": np.full(2, 1000.0)}  # fmt: skip
        out.append((T0 + i * H, fields))
    return out


class _Feed:
    """A network feed: per-symbol bars grouped by ``CrossSections``, after ``after``."""

    def __init__(self, after: int | None) -> None:
        self.after = after

    def rows(self) -> Iterator[BarRow]:
        cs = CrossSections(SYMBOLS, grace=0.0)
        for ts, fields in _rows():
            if self.after is None or ts > self.after:
                for j, sym in enumerate(SYMBOLS):
                    cs.add(sym, ts, {k: float(v[j]) for k, v in fields.items()})
                yield from cs.ready()

    def close(self) -> None:
        """Nothing to release: the rows are made in memory."""


def _source(cfg: BacktestConfig, stop: threading.Event, resume: int | None) -> Any:
    return _Feed(resume), SYMBOLS, OHLCV


def _cfg(session: str) -> BacktestConfig:
    return parse_config(
        {"name": "bad-bars", "data": {"source": "ccxt", "symbols": list(SYMBOLS)},
         "execution": {"lot_size": 0.001},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "session": session}}
    )  # fmt: skip


def test_restart_after_an_invalid_bar_replays_the_same_rows(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    full = run_session(_cfg("full"), db_url=db, source=_source)

    def crash(bar: BarSlice) -> None:
        if bar.ts_ns == T0 + CRASH * H:
            raise Crash

    with pytest.raises(Crash):
        run_session(_cfg("crashed"), db_url=db, source=_source, on_step=crash)
    resumed = run_session(_cfg("crashed"), db_url=db, source=_source)
    a, b = full.results["sma_cross"], resumed.results["sma_cross"]
    assert len(a.fills) > 0
    assert_same_run(a, b)
    assert [e.kind for e in full.runtime.events] == []  # every cross-section was stored
