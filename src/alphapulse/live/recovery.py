"""Recovery of a network-fed session: the live bars it saw are in the store's ``bars``
table (``BarIngestor``), so a restart replays them, at the times of the session's stored
steps, before the live source resumes after the last one. The engines thus re-run the
exact cross-sections of the crashed process (a symbol without a stored bar is NaN, as it
was in the live row). Bars stored after the last stored step (their step was not
journaled before the crash, yet the source may not give them again: a bus delivery
acked, a stream bar gone) run next, as live steps (:func:`unjournaled_times`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sqlalchemy import select

from alphapulse.live.bars import OHLCV, BarRow, RejectHook
from alphapulse.live.feed import BarSource
from alphapulse.store import Store
from alphapulse.store.schema import TABLES

log = logging.getLogger(__name__)


def step_times(store: Store, run_ids: list[str], until: int) -> list[int]:
    """Bar times of the runs' stored steps (their snapshots) up to ``until``, sorted."""
    snaps = TABLES["portfolio_snapshots"]
    query = (
        select(snaps.c.ts)
        .where(snaps.c.run_id.in_(run_ids), snaps.c.ts <= until)
        .distinct()
        .order_by(snaps.c.ts)
    )
    with store.engine.connect() as conn:
        return [int(t) for t in conn.execute(query).scalars()]


def unjournaled_times(
    store: Store, symbols: tuple[str, ...], timeframe: str, after: int
) -> list[int]:
    """Times of the stored bars of ``symbols`` after the last stored step ``after``."""
    bars = TABLES["bars"]
    query = (
        select(bars.c.ts)
        .where(bars.c.symbol.in_(symbols), bars.c.timeframe == timeframe, bars.c.ts > after)
        .distinct()
        .order_by(bars.c.ts)
    )
    with store.engine.connect() as conn:
        return [int(t) for t in conn.execute(query).scalars()]


def stored_rows(
    store: Store, symbols: tuple[str, ...], timeframe: str, times: list[int]
) -> list[BarRow]:
    """One row per time of ``times`` from the stored bars (NaN where a symbol has none)."""
    if not times:
        return []
    stamps = pd.DatetimeIndex(pd.to_datetime(times, unit="ns", utc=True))
    data = {k: np.full((len(times), len(symbols)), np.nan) for k in OHLCV}
    for j, sym in enumerate(symbols):
        frame = store.read_bars(sym, timeframe, times[0], times[-1] + 1)
        if frame.empty:
            continue
        aligned = frame.reindex(stamps)
        for k in OHLCV:
            data[k][:, j] = aligned[k].to_numpy(dtype=np.float64)
    now = time.perf_counter_ns()
    return [BarRow(ts, {k: data[k][i] for k in OHLCV}, now) for i, ts in enumerate(times)]


class PrefixedSource:
    """``prefix`` rows first (stored steps), then the rows of ``source`` after the last
    of them: a live row at or before it (a late bar for a replayed minute) is logged and
    dropped (``stale``), since the history only grows forward."""

    def __init__(self, prefix: list[BarRow], source: BarSource) -> None:
        self.prefix = prefix
        self.source = source
        self.stale = 0
        self._hook: RejectHook | None = None

    def rows(self) -> Iterator[BarRow]:
        for row in self.prefix:
            yield BarRow(row.ts_ns, row.fields, time.perf_counter_ns())
        last = self.prefix[-1].ts_ns if self.prefix else None
        for row in self.source.rows():
            if last is not None and row.ts_ns <= last:
                self.stale += 1
                if self._hook is not None:
                    self._hook("stale", "")
                log.warning("live row at %d is not after the replayed step %d: dropped",
                            row.ts_ns, last)  # fmt: skip
                continue
            yield row

    def watch_rejections(self, hook: RejectHook) -> None:
        """Tell ``hook`` of every row (reason ``stale``, symbol "") or bar (the live
        source's) dropped from now on."""
        self._hook = hook
        watch = getattr(self.source, "watch_rejections", None)
        if callable(watch):
            watch(hook)

    def close(self) -> None:
        self.source.close()
