"""A strategy's output the engine cannot use (directions not one per symbol, an explicit
order for a symbol outside the universe) is a one-line platform error, never a silent
misread (a short row left the other symbols without an opinion) or a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import AlphaPulseError, OrderError
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import Engine
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Side
from alphapulse.model.signals import OrderRequest, Signals

SYMBOLS = ("A", "B")


def _panel() -> Panel:
    close = np.array([[100.0, 50.0], [101.0, 51.0], [102.0, 52.0]])
    fields = {
        "open": close.copy(),
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "volume": np.full_like(close, 1e6),
    }
    ts = (np.arange(3, dtype=np.int64) * 86_400 + 1_600_000_000) * 10**9
    return Panel(ts, SYMBOLS, fields)


class _Once:
    """Returns ``signals`` on the first bar only."""

    def __init__(self, signals: Signals) -> None:
        self.signals = signals

    def on_bar(self, ctx: Context) -> Signals | None:
        return self.signals if ctx.t == 0 else None


def _run(signals: Signals) -> None:
    feed = PanelFeed(_panel())
    execution = parse_config(
        {
            "data": {"source": "x", "symbols": list(SYMBOLS)},
            "strategies": [{"strategy": "buy_and_hold"}],
        }
    ).execution
    engine = Engine(
        strategy=_Once(signals),
        symbols=SYMBOLS,
        history=feed.history,
        venue=SimulatedVenue(execution, SYMBOLS),
        initial_cash=10_000.0,
    )
    engine.run(feed)


@pytest.mark.parametrize(
    "direction",
    [[1.0], [1.0, 1.0, 1.0], [[1.0, 1.0]], 1.0],
    ids=["short", "long", "2d", "scalar"],
)
def test_directions_not_one_per_symbol_are_an_error(direction: object) -> None:
    with pytest.raises(AlphaPulseError, match=r"directions of shape .* not one per symbol \(2,\)"):
        _run(Signals(np.array(direction, dtype=float)))


def test_confidences_not_one_per_symbol_are_an_error() -> None:
    with pytest.raises(AlphaPulseError, match=r"confidences of shape \(1,\)"):
        _run(Signals(np.array([1.0, 1.0]), np.array([0.5])))


@pytest.mark.parametrize("sid", [2, 7])
def test_order_request_outside_the_universe_is_an_order_error(sid: int) -> None:
    req = OrderRequest(sid, Side.BUY, 5.0)
    with pytest.raises(OrderError, match=rf"sid {sid}: the universe has sids 0 to 1"):
        _run(Signals(np.full(2, np.nan), orders=(req,)))
