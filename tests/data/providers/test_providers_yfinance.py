"""yfinance client against recorded Yahoo chart API v8 responses on a local server.

The official ``yfinance.Ticker.history`` runs unmodified; only the origin of its
``*.yahoo.com`` requests is swapped for the local server by ``YahooSession``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from yfinance import data as yf_data

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
)
from alphapulse.data.providers.yfinance_client import YahooSession, YFinanceProvider

# yfinance 1.7 still calls pandas APIs that pandas 3.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

FIXTURES = Path(__file__).parent / "fixtures"
CHART = "/v8/finance/chart/NVDA"
NVDA_START, NVDA_END = datetime(2024, 6, 3), datetime(2024, 6, 22)
#: The query yfinance sends for that range (not the 1d timezone probe).
NVDA_HISTORY = {"interval": "1d", "period1": "1717372800", "period2": "1719014400"}


def recorded_chart(name: str, index: int) -> dict:
    cassette = json.loads((FIXTURES / f"{name}.json").read_text())
    return cassette["interactions"][index]["response"]["body"]["chart"]["result"][0]


@pytest.fixture(autouse=True)
def _fresh_yfinance_cache() -> None:
    """yfinance memoises chart responses per Yahoo URL + params in-process
    (``YfData.cache_get``); start every test with an empty memo so each one reaches
    its own server."""
    yf_data.YfData.cache_get.cache_clear()


@pytest.fixture
def yahoo(recorded_server):
    return recorded_server("yahoo_session", "yahoo_chart_NVDA_1d", "yahoo_chart_AAPL_5m")


def test_daily_bars_are_normalised_with_actions(yahoo, fast) -> None:
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    frame = provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "1d")

    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "dividend", "split"]
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert str(frame.index.tz) == "UTC" and frame.index.name == "timestamp"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    # 14 sessions, Juneteenth (2024-06-19) closed; Yahoo stamps New York midnight, the
    # frame the session date at 00:00 UTC (as imported daily data)
    assert len(frame) == 14
    assert pd.Timestamp("2024-06-19", tz="UTC") not in frame.index
    assert frame.index[0] == pd.Timestamp("2024-06-03", tz="UTC")
    assert (frame.index == frame.index.normalize()).all()
    recorded = recorded_chart("yahoo_chart_NVDA_1d", 1)["indicators"]["quote"][0]
    assert frame["close"].tolist() == recorded["close"]
    assert frame["volume"].tolist() == [float(v) for v in recorded["volume"]]
    assert frame.loc["2024-06-10", "split"].item() == 10.0
    assert frame.loc["2024-06-11", "dividend"].item() == 0.01
    assert frame["split"].sum() == 10.0 and frame["dividend"].sum() == 0.01

    history = yahoo.requests_to(CHART, **NVDA_HISTORY)
    assert len(history) == 1
    assert history[0].query["events"] == "div,splits,capitalGains"
    assert yahoo.unmatched == []


def test_intraday_bars(yahoo, fast) -> None:
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    start, end = datetime(2024, 1, 2, 14, 30), datetime(2024, 1, 2, 17, 30)
    frame = provider.fetch_bars("AAPL", start, end, "5m")

    assert len(frame) == 36
    assert frame.index[0] == pd.Timestamp(start, tz="UTC")
    assert (frame.index.to_series().diff().dropna() == pd.Timedelta(minutes=5)).all()
    assert frame.index[-1] < pd.Timestamp(end, tz="UTC")
    assert frame["volume"].iloc[0] == 0.0  # Yahoo's first-bar volume, kept as is
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    sent = yahoo.requests_to("/v8/finance/chart/AAPL", interval="5m")
    assert [r.query["period1"] for r in sent] == ["1704205800"]


def test_retries_503_and_429_honouring_retry_after(yahoo, fast) -> None:
    yahoo.inject(
        CHART,
        (503, "<html>Service Unavailable</html>"),
        (429, "Too Many Requests", {"Retry-After": "7"}),
        where=NVDA_HISTORY,
    )
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    frame = provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "1d")

    assert len(frame) == 14
    assert len(yahoo.requests_to(CHART, **NVDA_HISTORY)) == 3
    assert fast.retry_sleeps == [0.5, 7.0]  # backoff, then the server's Retry-After


def test_gives_up_on_persistent_5xx(yahoo, fast) -> None:
    yahoo.inject(CHART, *[(502, "Bad Gateway")] * 10, where=NVDA_HISTORY)
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    with pytest.raises(ProviderUnavailableError, match=r"HTTP 502.*gave up after 4 attempts"):
        provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "1d")
    assert len(yahoo.requests_to(CHART, **NVDA_HISTORY)) == 4


def test_unauthorised_is_typed_and_not_retried(yahoo, fast) -> None:
    body = {
        "finance": {
            "result": None,
            "error": {"code": "Unauthorized", "description": "Invalid Crumb"},
        }
    }
    yahoo.inject(CHART, (401, body), where=NVDA_HISTORY)
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    with pytest.raises(ProviderAuthError, match=r"HTTP 401.*needs no API key") as info:
        provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "1d")
    assert info.value.status == 401
    assert len(yahoo.requests_to(CHART, **NVDA_HISTORY)) == 1
    assert fast.retry_sleeps == []


def test_unknown_ticker_reports_yahoos_reason(yahoo, fast, capsys) -> None:
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    with pytest.raises(
        ProviderError, match="HTTP 404: NOSUCHTICKER: No data found, symbol may be delisted"
    ):
        provider.fetch_bars("NOSUCHTICKER", NVDA_START, NVDA_END, "1d")
    assert fast.retry_sleeps == []
    assert capsys.readouterr().err == ""  # yfinance's own error logging stays quiet


def test_bad_timeframe_fails_before_any_request(yahoo, fast) -> None:
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    with pytest.raises(ConfigError, match="unsupported timeframe '4h'"):
        provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "4h")
    assert yahoo.seen == []


def test_session_redirects_only_yahoo_hosts() -> None:
    session = YahooSession("http://127.0.0.1:8080/yahoo/")
    assert (
        session._redirect("https://query2.finance.yahoo.com/v8/finance/chart/X?interval=1d")
        == "http://127.0.0.1:8080/yahoo/v8/finance/chart/X?interval=1d"
    )
    assert session._redirect("https://fc.yahoo.com") == "http://127.0.0.1:8080/yahoo"
    assert session._redirect("https://example.com/a") == "https://example.com/a"
    assert YahooSession()._redirect("https://query1.finance.yahoo.com/x") == (
        "https://query1.finance.yahoo.com/x"
    )


def test_split_adjusted_prices_are_not_split_again(yahoo, fast) -> None:
    from alphapulse.data.adjustments import back_adjust

    frame = YFinanceProvider(base_url=yahoo.url, **fast.kwargs).fetch_bars(
        "NVDA", NVDA_START, NVDA_END, "1d"
    )
    assert frame.attrs["split_adjusted"] and not frame.attrs["dividend_adjusted"]
    adjusted = back_adjust(frame)
    # Yahoo already divided the prices before the 10:1 split of 2024-06-10: only the
    # dividend of 2024-06-11 scales them
    ratio = adjusted["close"] / frame["close"]
    assert ratio.loc[:"2024-06-10"].round(9).nunique() == 1
    assert 0.999 < ratio.iloc[0] < 1.0


def _history_body(edit) -> dict:
    """The recorded NVDA history response with ``edit`` applied to its chart result."""
    cassette = json.loads((FIXTURES / "yahoo_chart_NVDA_1d.json").read_text())
    body = cassette["interactions"][1]["response"]["body"]
    edit(body["chart"]["result"][0])
    return body


def _drop_quotes(result: dict) -> None:
    result["indicators"]["quote"] = [{}]


def _short_close(result: dict) -> None:
    quote = result["indicators"]["quote"][0]
    quote["close"] = quote["close"][:10]


def _null_close(result: dict) -> None:
    result["indicators"]["quote"][0]["close"][5] = None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"chart": {"result": [{"meta": ', "not JSON"),  # truncated
        ({"chart": {"result": None, "error": None}}, "no chart result"),
        ({}, "no 'chart' object"),
        (_history_body(_drop_quotes), "14 timestamps without open/high/low/close/volume"),
        (_history_body(_short_close), r"14 timestamps but quotes of other lengths \(.*close 10"),
        (
            _history_body(_null_close),
            r"the bar at 2024-06-10 13:30:00\+00:00 lacks some of open/high/low/close",
        ),
    ],
)
def test_malformed_chart_response_is_an_error_not_short_data(
    yahoo, fast, body: object, reason: str
) -> None:
    # yfinance logs such a 200 response as "no price data" and returns no rows (or a NaN
    # close): the fetch must fail and say why instead
    yahoo.inject(CHART, (200, body), where=NVDA_HISTORY)
    provider = YFinanceProvider(base_url=yahoo.url, **fast.kwargs)
    with pytest.raises(ProviderError, match=f"NVDA: malformed chart response: {reason}"):
        provider.fetch_bars("NVDA", NVDA_START, NVDA_END, "1d")


def test_a_range_without_bars_is_empty_not_an_error(yahoo, fast) -> None:
    meta = recorded_chart("yahoo_chart_NVDA_1d", 1)["meta"]
    empty = {"chart": {"result": [{"meta": meta, "indicators": {"quote": [{}]}}], "error": None}}
    yahoo.inject(CHART, (200, empty), where=NVDA_HISTORY)
    frame = YFinanceProvider(base_url=yahoo.url, **fast.kwargs).fetch_bars(
        "NVDA", NVDA_START, NVDA_END, "1d"
    )
    assert frame.empty and list(frame.columns[:5]) == ["open", "high", "low", "close", "volume"]


def _at(stamp: str) -> int:
    return int(pd.Timestamp(stamp).timestamp())


def _events(dividends: dict[str, float], splits: dict[str, float]):
    def edit(result: dict) -> None:
        result["events"] = {
            "dividends": {str(_at(s)): {"amount": a, "date": _at(s)} for s, a in dividends.items()},
            "splits": {
                str(_at(s)): {"date": _at(s), "numerator": r, "denominator": 1.0}
                for s, r in splits.items()
            },
        }

    return edit


@pytest.mark.parametrize(
    ("dividends", "splits", "want_dividend", "want_split"),
    [
        # ex-date on Juneteenth (no session): the next session, not 2024-06-18
        ({"2024-06-19 13:30Z": 0.01}, {}, {"2024-06-20": 0.01}, {}),
        # a split effective on a Saturday: Monday's session, not Friday's
        ({}, {"2024-06-08 13:30Z": 10.0}, {}, {"2024-06-10": 10.0}),
        # Sunday 23:00 in New York, before the first bar: on it, not dropped
        ({"2024-06-03 03:00Z": 0.01}, {}, {"2024-06-03": 0.01}, {}),
        # on a session: stays there; a weekend one joins Monday's (added)
        (
            {"2024-06-11 13:30Z": 0.01, "2024-06-15 13:30Z": 0.02, "2024-06-17 13:30Z": 0.03},
            {"2024-06-10 13:30Z": 10.0},
            {"2024-06-11": 0.01, "2024-06-17": 0.05},
            {"2024-06-10": 10.0},
        ),
    ],
)
def test_an_action_goes_on_the_first_session_on_or_after_its_ex_date(
    yahoo, fast, dividends, splits, want_dividend, want_split
) -> None:
    yahoo.inject(CHART, (200, _history_body(_events(dividends, splits))), where=NVDA_HISTORY)
    frame = YFinanceProvider(base_url=yahoo.url, **fast.kwargs).fetch_bars(
        "NVDA", NVDA_START, NVDA_END, "1d"
    )
    assert len(frame) == 14  # no bar added for an event
    for column, want in (("dividend", want_dividend), ("split", want_split)):
        got = frame.loc[frame[column] != 0, column]
        assert {str(t.date()): v for t, v in got.items()} == pytest.approx(want), column
