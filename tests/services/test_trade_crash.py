"""``trade`` acks a bar when the runtime asks for the next row, which a failed journal
write does not stop: a step whose commit failed, in a process that then died, was acked
but never journaled. The restart runs the bars stored after the last journaled step
(``ingest`` stores them before publishing), so the session loses no step."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from alphapulse.api.metrics import Metrics
from alphapulse.bus.memory import InProcessBus
from alphapulse.bus.messages import CrossSectionMsg, Message
from alphapulse.live.journal import RunJournal
from alphapulse.services import FEED_TOPIC
from alphapulse.services.ingest import run_ingest
from alphapulse.services.trade import run_trade
from alphapulse.store import open_store
from tests.live.helpers import Crash
from tests.live.test_live_feeds import HOUR_NS, T0
from tests.live.test_paper_network_recovery import (
    LAST,
    _cfg,
    assert_resumed_as_reference,
    exchange,
)

__all__ = ["exchange"]  # the fixture: the recorded Binance API, polled from T0
FAILS = T0 + 8 * HOUR_NS  # its journal write fails; the process dies one step later
LABELS = ("sma_cross", "mean_reversion")


class FeedBus(InProcessBus):
    """Sets ``fed`` once the last cross-section is published."""

    def __init__(self) -> None:
        super().__init__()
        self.fed = threading.Event()

    def publish(self, topic: str, message: Message, key: str | None = None) -> str:
        msg_id = super().publish(topic, message, key)
        if isinstance(message, CrossSectionMsg) and message.ts_ns == LAST:
            self.fed.set()
        return msg_id


def test_a_step_acked_but_not_journaled_runs_after_a_restart(
    tmp_path: Path, exchange: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    bus = FeedBus()
    for session in ("net", "reference"):  # trade's groups get every bar
        bus.subscribe(FEED_TOPIC, f"trade.{session}", f"trade.{session}").close()
    with open_store(db) as store:
        run_ingest(_cfg("net"), store, bus, stop=bus.fed)
    commit = RunJournal.commit
    failed: set[str] = set()
    stop = threading.Event()

    def flaky(self: RunJournal, ts_ns: int, messages: Any = ()) -> None:
        if ts_ns == FAILS and self.label not in failed:
            failed.add(self.label)
            raise OperationalError("journal", {}, Exception("database is down"))
        if ts_ns == FAILS + HOUR_NS and len(failed) == len(LABELS):
            raise Crash  # before the commit that would have written the failed step too
        commit(self, ts_ns, messages)
        if ts_ns == LAST:
            stop.set()

    monkeypatch.setattr(RunJournal, "commit", flaky)
    with pytest.raises(Crash):
        run_trade(_cfg("net"), bus, db_url=db, stop=stop, metrics=Metrics())
    failed.update(("done",))  # no more failures: the restart and the reference run clean
    stop.clear()  # (set by the source's close)
    resumed = run_trade(_cfg("net"), bus, db_url=db, stop=stop, metrics=Metrics())
    stop.clear()
    reference = run_trade(_cfg("reference"), bus, db_url=db, stop=stop, metrics=Metrics())
    with open_store(db) as store:
        assert_resumed_as_reference(store, resumed, reference)
