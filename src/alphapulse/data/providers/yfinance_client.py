"""Yahoo Finance bars through the official ``yfinance`` library (``Ticker.history``).

yfinance talks to Yahoo's chart API v8 through a session it is given. We give it a
:class:`YahooSession` (a ``curl_cffi`` session, as yfinance itself uses) that can send
every ``*.yahoo.com`` request to another origin (``base_url``, e.g. a local test server)
and that turns a failed chart response into a typed error, which yfinance would
otherwise log and swallow. Yahoo's prices are split-adjusted but not dividend-adjusted
(frames say so in ``attrs``, so ``back_adjust`` applies only the dividends); ``dividend`` and
``split`` carry the corporate actions (0.0 on days without one, ``split`` is the ratio, e.g.
10.0 for 10:1).
Daily bars are stamped at their session date, 00:00 UTC (see ``normalize_bars``).

yfinance keeps one process-wide session (its ``YfData`` singleton): each fetch installs
this provider's session there, so providers with different ``base_url`` must not fetch
concurrently in one process.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import pandas as pd
import yfinance as yf
from curl_cffi import requests as curl_requests
from yfinance.exceptions import YFException, YFRateLimitError

from alphapulse.data.providers.base import (
    Timeframe,
    check_range,
    check_timeframe,
    empty_bars,
    normalize_bars,
)
from alphapulse.data.providers.errors import (
    ProviderError,
    ProviderRateLimitError,
    ProviderUnavailableError,
    error_for_status,
)
from alphapulse.data.providers.retry import (
    RateLimiter,
    RetryPolicy,
    Sleep,
    call_with_retry,
    retry_after_from_headers,
)

PROVIDER: Final = "yfinance"
_CHART_PATH: Final = "/v8/finance/chart/"
_AUTH_HINT: Final = (
    "Yahoo Finance needs no API key; this means Yahoo refused the session cookie/crumb. "
    "Retry later or upgrade yfinance."
)
#: Our timeframe -> Yahoo interval.
_INTERVALS: Final = MappingProxyType({"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "1d": "1d"})
#: Longest range Yahoo serves in one request, per interval (1m: 8 days).
_MAX_SPAN: Final = MappingProxyType({"1m": pd.Timedelta(days=7)})
_COLUMNS: Final = MappingProxyType(
    {
        "Open": "open",
        "High": "high",
        "Low": "low",
        "Close": "close",
        "Volume": "volume",
        "Dividends": "dividend",
        "Stock Splits": "split",
    }
)
_ACTIONS: Final = ("dividend", "split")
#: The arrays of a chart response's ``indicators.quote[0]``, one value per timestamp.
_QUOTE_FIELDS: Final = ("open", "high", "low", "close", "volume")
#: Price basis of Yahoo's (not auto-adjusted) history, as ``back_adjust`` reads it.
PRICE_BASIS: Final = MappingProxyType(
    {"split_adjusted": True, "splits_applied": True, "dividend_adjusted": False}
)


class YahooSession(curl_requests.Session[curl_requests.Response]):
    """The session yfinance sends its requests through.

    ``base_url`` (scheme://host[:port][/prefix]) replaces the origin of every request to
    a ``*.yahoo.com`` host. A failed chart request raises a typed :class:`ProviderError`,
    which is remembered per thread until :meth:`take_error` collects it.
    """

    def __init__(self, base_url: str | None = None) -> None:
        super().__init__(impersonate="chrome")
        self.base_url = base_url.rstrip("/") if base_url else None
        self._errors = threading.local()

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> curl_requests.Response:
        """Send the request (redirected when ``base_url`` is set); check chart responses.

        After a chart failure every request on this thread fails fast with that error
        until :meth:`take_error` collects it, so yfinance's fallbacks send nothing.
        """
        pending: ProviderError | None = getattr(self._errors, "error", None)
        if pending is not None:
            raise pending
        is_chart = _CHART_PATH in urlsplit(url).path
        try:
            response = super().request(method, self._redirect(url), *args, **kwargs)
        except curl_requests.RequestsError as exc:
            if not is_chart:
                raise
            unavailable = ProviderUnavailableError(
                f"{PROVIDER}: request to Yahoo failed: {exc}", provider=PROVIDER
            )
            self._remember(unavailable)
            raise unavailable from exc
        if is_chart and response.status_code >= 400:
            error = _chart_error(response, url)
            self._remember(error)
            raise error
        before = _period_end(url, kwargs.get("params"))
        if is_chart and (problem := _malformed_chart(response.text, before)) is not None:
            symbol = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
            error = ProviderError(
                f"{PROVIDER}: {symbol}: malformed chart response: {problem}", provider=PROVIDER
            )
            self._remember(error)
            raise error
        return response

    def take_error(self) -> ProviderError | None:
        """The first chart error since the last call, on this thread; clears it."""
        error: ProviderError | None = getattr(self._errors, "error", None)
        self._errors.error = None
        return error

    def _remember(self, error: ProviderError) -> None:
        if getattr(self._errors, "error", None) is None:
            self._errors.error = error

    def _redirect(self, url: str) -> str:
        if self.base_url is None:
            return url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host != "yahoo.com" and not host.endswith(".yahoo.com"):
            return url
        base = urlsplit(self.base_url)
        return urlunsplit(
            (base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment)
        )


class YFinanceProvider:
    """Historical bars from Yahoo Finance via ``yfinance.Ticker.history``."""

    name: Final = PROVIDER

    def __init__(
        self,
        *,
        base_url: str | None = None,
        session: YahooSession | None = None,
        prepost: bool = False,
        timeout: float = 30.0,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session if session is not None else YahooSession(base_url)
        self._prepost = prepost
        self._timeout = timeout
        self._policy = retry_policy if retry_policy is not None else RetryPolicy()
        self._limiter = rate_limiter if rate_limiter is not None else RateLimiter.every(0.5)
        self._sleep = sleep
        self._rng = rng

    def fetch_bars(
        self, symbol: str, start: datetime, end: datetime, timeframe: str
    ) -> pd.DataFrame:
        """Bars of ``symbol`` in ``[start, end)`` with ``dividend`` and ``split`` columns."""
        tf = check_timeframe(timeframe, PROVIDER)
        lo, hi = check_range(start, end, PROVIDER)
        ticker = yf.Ticker(symbol, session=self._session)
        frames = []
        for w_lo, w_hi in request_windows(lo, hi, _MAX_SPAN.get(tf)):
            raw = call_with_retry(
                partial(self._history, ticker, w_lo, w_hi, tf),
                classify=partial(_classify, symbol),
                policy=self._policy,
                sleep=self._sleep,
                rng=self._rng,
                limiter=self._limiter,
            )
            if not raw.empty:
                frames.append(_rename(raw))
        source = f"{PROVIDER} {symbol}"
        out = (
            normalize_bars(pd.concat(frames), lo, hi, tf, source=source)
            if frames
            else empty_bars(_ACTIONS)
        )
        out.attrs.update(PRICE_BASIS)
        return out

    def _history(
        self, ticker: yf.Ticker, lo: pd.Timestamp, hi: pd.Timestamp, tf: Timeframe
    ) -> pd.DataFrame:
        self._session.take_error()
        with _quiet_yfinance():
            try:
                frame: pd.DataFrame = ticker.history(
                    start=lo.to_pydatetime(),
                    end=hi.to_pydatetime(),
                    interval=_INTERVALS[tf],
                    prepost=self._prepost,
                    actions=True,
                    auto_adjust=False,
                    repair=False,
                    timeout=self._timeout,
                )
            except Exception:
                error = self._session.take_error()
                if error is not None:
                    raise error from None
                raise
        error = self._session.take_error()
        if error is not None:
            raise error
        return _actions_on_or_after(frame, ticker)


def request_windows(
    start: pd.Timestamp, end: pd.Timestamp, span: pd.Timedelta | None
) -> Iterator[tuple[pd.Timestamp, pd.Timestamp]]:
    """Split ``[start, end)`` into consecutive windows no longer than ``span``."""
    if span is None:
        yield start, end
        return
    lo = start
    while lo < end:
        hi = min(lo + span, end)
        yield lo, hi
        lo = hi


def _actions_on_or_after(frame: pd.DataFrame, ticker: yf.Ticker) -> pd.DataFrame:
    """``frame`` (its rows with a price) with each dividend and split on the first bar on
    or after its ex-date, the session whose open the price drops at.

    ``Ticker.history`` puts a daily event on the last bar at or before it, so an ex-date
    without a session (a holiday) landed on the session before, whose close still holds
    the dividend; and an event before the first bar got a row without prices, dropped
    with it. The events are yfinance's parse of the same response, which its price history
    keeps (stamped in the exchange's zone; no public accessor: pyproject.toml pins
    yfinance to 1.x, and the recorded-response tests read them through it). Two events on
    one bar add (dividends) or multiply (splits); one after the last bar has no session in
    the range.
    """
    priced = frame.dropna(how="all", subset=["Open", "High", "Low", "Close"])
    if priced.empty:
        return priced
    history = ticker._lazy_load_price_history()
    days = pd.DatetimeIndex(priced.index).normalize()
    for column, events, combine in (
        ("Dividends", history._dividends, "sum"),
        ("Stock Splits", history._splits, "prod"),
    ):
        if isinstance(events, pd.DataFrame):  # dividends that carry a currency column
            events = events[column]
        at = days.searchsorted(events.index.normalize())
        kept = at < len(priced)
        amounts = pd.Series(events.to_numpy(dtype="float64")[kept], index=priced.index[at[kept]])
        on_bars = amounts.groupby(level=0).agg(combine)
        priced[column] = on_bars.reindex(priced.index, fill_value=0.0)
    return priced


def _rename(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.rename(columns=dict(_COLUMNS))


def _chart_error(response: curl_requests.Response, url: str) -> ProviderError:
    """A typed error for a failed chart response, with Yahoo's own reason when given."""
    symbol = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    detail = ""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("chart", "finance"):
            section = body.get(key)
            if isinstance(section, dict) and isinstance(section.get("error"), dict):
                detail = str(section["error"].get("description") or section["error"])
                break
    headers = {k: v for k, v in response.headers.items() if v is not None}
    retry_after = retry_after_from_headers(headers)
    return error_for_status(
        PROVIDER,
        response.status_code,
        f"{symbol}: {detail or response.reason or 'request failed'}",
        retry_after=retry_after,
        auth_hint=_AUTH_HINT,
    )


def _malformed_chart(text: str, before: int | None = None) -> str | None:
    """Why a successful chart response cannot be read as bars, None when it can (a result
    without ``timestamp`` has no bars in the range). yfinance would log such a response as
    "no price data" and return nothing: silently short data; of a bar given twice with
    different values (before ``before``, epoch seconds) it would keep the first."""
    try:
        body = json.loads(text)
    except ValueError:
        return f"not JSON: {text[:80]!r}"
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        return "no 'chart' object"
    if chart.get("error"):
        return f"Yahoo error {chart['error']}"
    result = chart.get("result")
    if not (isinstance(result, list) and result and isinstance(result[0], dict)):
        return "no chart result"
    stamps = result[0].get("timestamp")
    if stamps is None:
        return None
    if not isinstance(stamps, list):
        return f"timestamp is not a list: {stamps!r:.80}"
    try:
        quote = result[0]["indicators"]["quote"][0]
        arrays = [quote[f] for f in _QUOTE_FIELDS]
    except (KeyError, IndexError, TypeError):
        return f"{len(stamps)} timestamps without {'/'.join(_QUOTE_FIELDS)} quotes"
    if not all(isinstance(a, list) and len(a) == len(stamps) for a in arrays):
        lengths = ", ".join(f"{f} {len(a)}" for f, a in zip(_QUOTE_FIELDS, arrays, strict=True))
        return f"{len(stamps)} timestamps but quotes of other lengths ({lengths})"
    for i, row in enumerate(zip(*arrays[:4], strict=True)):
        if None in row and any(v is not None for v in row):
            when = pd.Timestamp(stamps[i], unit="s", tz="UTC")
            return f"the bar at {when} lacks some of open/high/low/close: {list(row)}"
    return _repeated_bar(stamps, arrays, before)


def _repeated_bar(stamps: list[Any], arrays: list[Any], before: int | None) -> str | None:
    """The first time before ``before`` given twice with different quotes, None if none."""
    seen: dict[Any, list[Any]] = {}
    for i, stamp in enumerate(stamps):
        if before is not None and isinstance(stamp, (int, float)) and stamp >= before:
            continue  # a bar past the range (Yahoo's live one): dropped anyway
        row = [a[i] for a in arrays]
        first = seen.setdefault(stamp, row)
        if first != row:
            when = pd.Timestamp(stamp, unit="s", tz="UTC")
            return f"the bar at {when} is given twice with different values: {first} and {row}"
    return None


def _period_end(url: str, params: object) -> int | None:
    """The ``period2`` (range end, epoch seconds) of a chart request, None when absent."""
    query = dict(parse_qsl(urlsplit(url).query))
    if isinstance(params, Mapping):
        query.update({str(k): v for k, v in params.items()})
    try:
        return int(query["period2"])
    except (KeyError, TypeError, ValueError):
        return None


def _classify(symbol: str, exc: Exception) -> ProviderError:
    if isinstance(exc, YFRateLimitError):
        return ProviderRateLimitError(
            f"{PROVIDER} rate limit exceeded: {exc}", provider=PROVIDER, status=429
        )
    if isinstance(exc, (TimeoutError, ConnectionError, curl_requests.RequestsError)):
        return ProviderUnavailableError(f"{PROVIDER}: {exc}", provider=PROVIDER)
    if isinstance(exc, YFException):
        return ProviderError(f"{PROVIDER}: {symbol}: {exc}", provider=PROVIDER)
    return ProviderError(
        f"{PROVIDER}: fetching {symbol} failed: {type(exc).__name__}: {exc}", provider=PROVIDER
    )


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _quiet_yfinance() -> Iterator[None]:
    """Silence yfinance's own logging while we call it: its failures reach the caller
    as typed errors instead."""
    logger = logging.getLogger("yfinance")
    drop = _DropAll()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)
