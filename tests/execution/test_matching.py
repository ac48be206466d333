"""The compiled matching rules (``execution/matching.py``), one row per rule and side:
reference price, maker or taker, the limit the price may not pass, a stop-limit's
trigger. The venue's scenarios (``test_fill_scenarios.py``) check the same rules through
fills; these check the function itself, sells as the mirror of buys."""

from __future__ import annotations

import math

import pytest

from alphapulse.execution.matching import KIND, LIMIT, MARKET, STOP, STOP_LIMIT, match_bar
from alphapulse.model.orders import OrderType

NAN = math.nan
BAR = (100.0, 104.0, 97.0)  # open, high, low

NO = (False, NAN, False, NAN, False)
# id: (kind, side, limit, stop, triggered before) -> (matched, ref, maker, limit, triggered)
CASES = {
    "market buy": ((MARKET, 1, NAN, NAN, False), (True, 100.0, False, NAN, False)),
    "market sell": ((MARKET, -1, NAN, NAN, False), (True, 100.0, False, NAN, False)),
    "limit buy, gap in our favour":
        ((LIMIT, 1, 101.0, NAN, False), (True, 100.0, False, 101.0, False)),
    "limit buy, touched": ((LIMIT, 1, 98.0, NAN, False), (True, 98.0, True, 98.0, False)),
    "limit buy, at the low": ((LIMIT, 1, 97.0, NAN, False), (True, 97.0, True, 97.0, False)),
    "limit buy, missed": ((LIMIT, 1, 96.0, NAN, False), NO),
    "limit sell, gap in our favour":
        ((LIMIT, -1, 99.0, NAN, False), (True, 100.0, False, 99.0, False)),
    "limit sell, touched": ((LIMIT, -1, 103.0, NAN, False), (True, 103.0, True, 103.0, False)),
    "limit sell, missed": ((LIMIT, -1, 105.0, NAN, False), NO),
    "stop buy, gapped through": ((STOP, 1, NAN, 99.0, False), (True, 100.0, False, NAN, True)),
    "stop buy, hit": ((STOP, 1, NAN, 102.0, False), (True, 102.0, False, NAN, True)),
    "stop buy, missed": ((STOP, 1, NAN, 105.0, False), NO),
    "stop sell, gapped through":
        ((STOP, -1, NAN, 101.0, False), (True, 100.0, False, NAN, True)),
    "stop sell, hit": ((STOP, -1, NAN, 98.0, False), (True, 98.0, False, NAN, True)),
    # triggered before (what a volume cap left): a market order, even above the stop
    "stop sell, triggered before": ((STOP, -1, NAN, 90.0, True), (True, 100.0, False, NAN, False)),
    "stop sell, missed": ((STOP, -1, NAN, 96.0, False), NO),
    # stop-limits triggered at the open: then the limit rule over the whole bar
    "stop-limit buy, open trigger, limit at the open":
        ((STOP_LIMIT, 1, 100.5, 99.0, False), (True, 100.0, False, 100.5, True)),
    "stop-limit buy, open trigger, limit touched":
        ((STOP_LIMIT, 1, 98.0, 99.0, False), (True, 98.0, True, 98.0, True)),
    "stop-limit buy, open trigger, limit missed":
        ((STOP_LIMIT, 1, 96.0, 99.0, False), (False, NAN, False, NAN, True)),
    "stop-limit sell, open trigger":
        ((STOP_LIMIT, -1, 99.5, 101.0, False), (True, 100.0, False, 99.5, True)),
    # triggered intrabar: a fill at the stop only when the limit is marketable there
    "stop-limit buy, intrabar, marketable":
        ((STOP_LIMIT, 1, 103.0, 102.0, False), (True, 102.0, False, 103.0, True)),
    "stop-limit buy, intrabar, limit at the stop":
        ((STOP_LIMIT, 1, 102.0, 102.0, False), (True, 102.0, False, 102.0, True)),
    "stop-limit buy, intrabar, not marketable":
        ((STOP_LIMIT, 1, 101.0, 102.0, False), (False, NAN, False, NAN, True)),
    "stop-limit sell, intrabar, marketable":
        ((STOP_LIMIT, -1, 97.5, 98.0, False), (True, 98.0, False, 97.5, True)),
    "stop-limit sell, intrabar, not marketable":
        ((STOP_LIMIT, -1, 99.0, 98.0, False), (False, NAN, False, NAN, True)),
    "stop-limit buy, not triggered": ((STOP_LIMIT, 1, 106.0, 105.0, False), NO),
    # once triggered it is a limit order (and reports no new trigger)
    "stop-limit buy, triggered before":
        ((STOP_LIMIT, 1, 98.0, 105.0, True), (True, 98.0, True, 98.0, False)),
}  # fmt: skip


@pytest.mark.parametrize(("order", "want"), list(CASES.values()), ids=list(CASES))
def test_match_bar(
    order: tuple[int, int, float, float, bool], want: tuple[bool, float, bool, float, bool]
) -> None:
    got = match_bar(*order, *BAR)
    assert (got[0], got[2], got[4]) == (want[0], want[2], want[4])
    for g, w in ((got[1], want[1]), (got[3], want[3])):
        assert (math.isnan(g) and math.isnan(w)) or g == w


def test_every_order_type_has_a_code() -> None:
    assert {KIND[t] for t in OrderType} == {MARKET, LIMIT, STOP, STOP_LIMIT}
