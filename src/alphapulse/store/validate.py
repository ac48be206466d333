"""Input validation for the store: symbols, timeframes, timestamps and numeric columns.

Every failure is a :class:`DataError` naming the field, the rule and, for frames, the
0-based row position. Nothing is written before a whole input has been validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import DataError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
TimeLike = datetime | date | pd.Timestamp | np.datetime64 | str | int

SYMBOL_RE: Final = re.compile(r"^[A-Z0-9^][A-Z0-9._\-/=^:]{0,31}$")
TIMEFRAME_RE: Final = re.compile(r"^([1-9][0-9]{0,3})(s|m|min|h|d|w|mo)$")
NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_NS: Final = 1_000_000_000
_UNIT_NS: Final = MappingProxyType(
    {
        "s": _NS,
        "m": 60 * _NS,
        "h": 3600 * _NS,
        "d": 86_400 * _NS,
        "w": 7 * 86_400 * _NS,
        "mo": 31 * 86_400 * _NS,  # an upper bound; only used to size cache blocks
    }
)
BAR_REQUIRED: Final = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
BAR_OPTIONAL: Final = ("vwap", "trade_count")
#: Largest plausible price and volume (docs/data.md): larger values are input errors, for
#: imports (``data.validation``) and every store write alike.
MAX_PRICE: Final = 1e9
MAX_VOLUME: Final = 1e15


def check_symbol(value: object, *, field: str = "symbol", row: int | None = None) -> str:
    """``value`` as a canonical (stripped, upper-case) symbol, or a ``DataError``."""
    if not isinstance(value, str):
        raise DataError(
            f"symbol must be a string, got {value!r}", field=field, row=row, rule="symbol"
        )
    symbol = value.strip().upper()
    if not SYMBOL_RE.match(symbol):
        raise DataError(
            f"bad symbol {value!r}: 1-32 of A-Z 0-9 . _ - / = ^ :",
            field=field,
            row=row,
            rule="symbol",
        )
    return symbol


def check_timeframe(value: object) -> str:
    """``value`` as a canonical timeframe (``1m``, ``15m``, ``1h``, ``1d``, ``1w``, ``1mo``).

    ``min`` is accepted for minutes; a capital ``M`` is rejected as ambiguous.
    """
    if isinstance(value, str) and not value.endswith("M"):
        match = TIMEFRAME_RE.match(value.strip().lower())
        if match:
            count, unit = match.groups()
            return f"{count}{'m' if unit == 'min' else unit}"
    raise DataError(
        f"bad timeframe {value!r}: use <n><unit> with unit s, m (or min), h, d, w or mo",
        field="timeframe",
        rule="timeframe",
    )


def check_name(value: object, *, field: str) -> str:
    """A short identifier (rule, kind, model or import id): 1-64 of ``A-Za-z0-9_.:-``."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise DataError(
            f"bad {field} {value!r}: 1-64 of A-Za-z0-9 _ . : -", field=field, rule="name"
        )
    return value


def timeframe_ns(timeframe: str) -> int:
    """The duration of a canonical timeframe in nanoseconds (months count 31 days)."""
    match = TIMEFRAME_RE.match(timeframe)
    assert match is not None, timeframe
    count, unit = match.groups()
    return int(count) * _UNIT_NS[unit]


def to_ns(value: TimeLike, *, field: str) -> int:
    """A query bound as ns since the epoch. ``int`` is taken as ns; naive times as UTC."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"not a timestamp: {value!r}", field=field, rule="timestamp") from exc
    if ts is pd.NaT:
        raise DataError("missing timestamp", field=field, rule="not_null")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


def require_columns(df: object, columns: Iterable[str], *, what: str) -> pd.DataFrame:
    """``df`` itself after checking it is a DataFrame holding every one of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}", rule="type")
    for name in columns:
        if name not in df.columns:
            raise DataError(
                f"{what} is missing required column {name!r}", field=name, rule="required_column"
            )
    return df


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def ns_column(df: pd.DataFrame, name: str, *, allow_int: bool = False) -> IntArray:
    """A timestamp column as int64 ns UTC. Values must be timezone-aware datetimes
    (or, with ``allow_int``, integers already in ns); missing values are rejected."""
    values = df[name]
    if allow_int and pd.api.types.is_integer_dtype(values.dtype):
        if values.isna().any():
            raise DataError(
                "missing timestamp",
                field=name,
                row=_first(values.isna().to_numpy()),
                rule="not_null",
            )
        return values.to_numpy(dtype=np.int64)
    try:
        index = pd.DatetimeIndex(values)
    except (ValueError, TypeError) as exc:
        raise DataError(f"not datetimes: {exc}", field=name, rule="timestamp") from exc
    if index.tz is None:
        raise DataError(
            "timestamps must be timezone-aware (UTC); localise them first",
            field=name,
            rule="tz_aware",
        )
    nat = np.asarray(index.isna(), dtype=bool)
    if nat.any():
        raise DataError("missing timestamp", field=name, row=_first(nat), rule="not_null")
    try:
        return index.tz_convert("UTC").as_unit("ns").asi8.copy()
    except (OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
        raise DataError(f"timestamp out of range: {exc}", field=name, rule="timestamp") from exc


def float_column(df: pd.DataFrame, name: str, *, allow_nan: bool = False) -> FloatArray:
    """A numeric column as float64; NaN/None are rejected unless ``allow_nan``, infinities
    always."""
    values = df[name]
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError("booleans are not numbers", field=name, rule="numeric")
    if not pd.api.types.is_numeric_dtype(values.dtype):
        coerced = pd.to_numeric(values, errors="coerce")
        bad = coerced.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            row = _first(bad)
            raise DataError(
                f"not a number: {values.iloc[row]!r}", field=name, row=row, rule="numeric"
            )
        values = coerced
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    nan = np.isnan(arr)
    if not allow_nan and nan.any():
        raise DataError(
            "missing (NaN) value in a required field", field=name, row=_first(nan), rule="not_null"
        )
    inf = np.isinf(arr)
    if inf.any():
        raise DataError("infinite value", field=name, row=_first(inf), rule="finite")
    return arr


def symbol_codes(
    df: pd.DataFrame, name: str = "symbol"
) -> tuple[npt.NDArray[np.int32], tuple[str, ...]]:
    """Per-row indexes into the sorted tuple of canonical symbols of column ``name``."""
    codes, uniques = pd.factorize(df[name], use_na_sentinel=True)
    if (codes < 0).any():
        raise DataError("missing symbol", field=name, row=_first(codes < 0), rule="not_null")
    canonical = []
    for i, raw in enumerate(uniques):
        try:
            canonical.append(check_symbol(raw, field=name))
        except DataError as exc:
            raise DataError(
                str(exc.args[0]), field=name, row=_first(codes == i), rule="symbol"
            ) from None
    symbols = tuple(sorted(set(canonical)))
    remap = np.array([symbols.index(s) for s in canonical], dtype=np.int32)
    return remap[codes], symbols


@dataclass(frozen=True)
class BarBatch:
    """A validated bar frame as arrays sorted by (symbol, ts); ``codes`` index ``symbols``.

    Optional columns are ``None`` when absent; ``trade_count`` is float64 with NaN missing.
    """

    timeframe: str
    symbols: tuple[str, ...]
    codes: npt.NDArray[np.int32]
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    vwap: FloatArray | None
    trade_count: FloatArray | None

    def __len__(self) -> int:
        return len(self.ts)

    def symbol_slices(self) -> list[tuple[str, int, int]]:
        """``(symbol, start, stop)`` row ranges, one per symbol, in symbol order."""
        bounds = np.searchsorted(self.codes, np.arange(len(self.symbols) + 1))
        return [(s, int(bounds[i]), int(bounds[i + 1])) for i, s in enumerate(self.symbols)]


def check_bar_values(
    cols: Mapping[str, FloatArray], *, where: Callable[[int], str] | None = None
) -> None:
    """DataError naming the first row whose (finite) OHLCV is not a bar: a price <= 0 or
    above ``MAX_PRICE``, a high/low not bounding open and close, a negative volume or one
    above ``MAX_VOLUME``. ``where(row)`` (e.g. the row's symbol and time) ends the message."""
    found = _bad_bar(cols)
    if found is not None:
        name, row, message, rule = found
        suffix = f" ({where(row)})" if where is not None else ""
        got = f", got {cols[name][row]:g}"
        raise DataError(f"{message}{got}{suffix}", field=name, row=row, rule=rule)


def _bad_bar(cols: Mapping[str, FloatArray]) -> tuple[str, int, str, str] | None:
    """``(field, row, message, rule)`` of the first failed check of ``check_bar_values``."""
    prices = ("open", "high", "low", "close")
    o, h, lo, c = (cols[n] for n in prices)
    checks = [(n, cols[n] <= 0, "price must be > 0", "positive") for n in prices]
    checks += [
        (n, cols[n] > MAX_PRICE, f"implausible price, above {MAX_PRICE:g}", "implausible_value")
        for n in prices
    ]
    checks += [
        ("low", lo > h, "low is above high", "low_le_high"),
        ("high", h < np.maximum(o, c), "high is below open or close", "high_bounds"),
        ("low", lo > np.minimum(o, c), "low is above open or close", "low_bounds"),
        ("volume", cols["volume"] < 0, "negative volume", "non_negative"),
        (
            "volume",
            cols["volume"] > MAX_VOLUME,
            f"implausible volume, above {MAX_VOLUME:g}",
            "implausible_value",
        ),
    ]
    for name, bad, message, rule in checks:
        if bad.any():
            return name, _first(bad), message, rule
    return None


def row_label(
    symbols: tuple[str, ...], codes: npt.NDArray[np.int32], ts: IntArray
) -> Callable[[int], str]:
    """``row -> "SYMBOL at ISO-TIME"`` for the rows of a bar frame."""
    return lambda row: (
        f"{symbols[codes[row]]} at {pd.Timestamp(int(ts[row]), tz='UTC').isoformat()}"
    )


def bar_batch(df: object, timeframe: str) -> BarBatch:
    """Validate a bar frame: required columns, symbols, tz-aware timestamps, finite OHLCV,
    prices in ``(0, MAX_PRICE]`` with ``low <= min(open, close)`` and
    ``high >= max(open, close)``, ``0 <= volume <= MAX_VOLUME``, no duplicate
    (symbol, timestamp)."""
    if (
        isinstance(df, pd.DataFrame)
        and "timestamp" not in df.columns
        and df.index.name == "timestamp"
    ):
        df = df.reset_index()
    frame = require_columns(df, BAR_REQUIRED, what="bar frame")
    tf = check_timeframe(timeframe)
    codes, symbols = symbol_codes(frame)
    ts = ns_column(frame, "timestamp")
    cols = {name: float_column(frame, name) for name in ("open", "high", "low", "close", "volume")}
    where = row_label(symbols, codes, ts)
    check_bar_values(cols, where=where)
    vwap = float_column(frame, "vwap", allow_nan=True) if "vwap" in frame.columns else None
    trades = None
    if "trade_count" in frame.columns:
        trades = float_column(frame, "trade_count", allow_nan=True)
        if ((trades < 0) | (trades != np.floor(trades))).any():
            row = _first((trades < 0) | (trades != np.floor(trades)))
            raise DataError(
                "trade_count must be a whole number >= 0",
                field="trade_count",
                row=row,
                rule="count",
            )
    order = np.lexsort((ts, codes))
    s_codes, s_ts = codes[order], ts[order]
    dup = (s_codes[1:] == s_codes[:-1]) & (s_ts[1:] == s_ts[:-1])
    if dup.any():
        row = int(order[_first(dup) + 1])
        raise DataError(
            f"duplicate (symbol, timestamp) in one batch ({where(row)})",
            field="timestamp",
            row=row,
            rule="duplicate_key",
        )
    return BarBatch(
        timeframe=tf,
        symbols=symbols,
        codes=s_codes,
        ts=s_ts,
        open=cols["open"][order],
        high=cols["high"][order],
        low=cols["low"][order],
        close=cols["close"][order],
        volume=cols["volume"][order],
        vwap=None if vwap is None else vwap[order],
        trade_count=None if trades is None else trades[order],
    )
