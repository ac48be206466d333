"""Column parsing shared by the readers: numbers and timestamps, with row-level errors."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.raw import DATE_RANGE

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
EpochUnit = Literal["s", "ms", "us", "ns"]

_NS_PER_UNIT: dict[str, int] = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def _is_blank(raw: pd.Series) -> npt.NDArray[np.bool_]:
    blank = raw.isna().to_numpy()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
        empty = raw.astype("string").str.strip().eq("").fillna(True)
        blank = blank | empty.to_numpy(dtype=bool)
    return blank


def to_float(raw: pd.Series, *, path: str, field: str, lines: IntArray) -> FloatArray:
    """Column as float64; empty cells become NaN, any other non-number is a DataError."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & ~_is_blank(raw)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"not a number: {raw.iloc[i]!r} ({int(bad.sum())} such cells)",
            path=path,
            row=int(lines[i]),
            field=field,
        )
    return values


_S_MIN, _S_MAX = (
    np.datetime64("1677-09-22T00:12:44", "s"),
    np.datetime64("2262-04-11T23:47:16", "s"),
)
_NS_LIMIT = float(np.iinfo(np.int64).max)


def outside_range(idx: pd.DatetimeIndex) -> npt.NDArray[np.bool_]:
    """Stamps outside pandas' nanosecond range (raw.DATE_RANGE); NaT is not outside."""
    wall = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
    secs = wall.to_numpy().astype("datetime64[s]")
    return np.asarray((secs < _S_MIN) | (secs > _S_MAX), dtype=bool)


def _raise_outside(bad: npt.NDArray[np.bool_], text: pd.Series, where: dict[str, Any]) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"timestamp {text.iloc[i]!r} is outside {DATE_RANGE}; {int(bad.sum())} such rows",
            path=where["path"],
            row=int(where["lines"][i]),
            field=where["column"],
        )


def epoch_to_utc(values: FloatArray, unit: EpochUnit) -> pd.DatetimeIndex:
    """Epoch numbers (possibly fractional) in ``unit`` as a UTC DatetimeIndex."""
    ns = np.round(values * _NS_PER_UNIT[unit]).astype(np.int64)
    return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True))


def guess_epoch_unit(values: FloatArray) -> EpochUnit:
    """Unit of epoch stamps from their magnitude (dates between 1973 and 5138)."""
    mag = float(np.nanmedian(np.abs(values))) if len(values) else 0.0
    if mag < 1e11:
        return "s"
    if mag < 1e14:
        return "ms"
    if mag < 1e17:
        return "us"
    return "ns"


def parse_timestamps(
    raw: pd.Series,
    *,
    path: str,
    column: str,
    lines: IntArray,
    kind: Literal["text", "epoch"] = "text",
    fmt: str | None = None,
    unit: EpochUnit | None = None,
    timezone: str = "UTC",
    daily: bool = False,
) -> pd.DatetimeIndex:
    """Parse a timestamp column into a UTC index (file order).

    Naive text stamps are read in ``timezone``. ``daily`` keeps each stamp's date in its
    own UTC offset, at 00:00 UTC; a stamp with a time of day other than midnight is a
    DataError. Empty or unparseable cells raise DataError naming the file line.
    """
    where = {"path": path, "lines": lines, "column": column}
    text = raw if pd.api.types.is_string_dtype(raw.dtype) else raw.astype(str)
    if kind == "epoch":
        values = to_float(raw, path=path, field=column, lines=lines)
        _raise_first_missing(np.isnan(values), raw, path=path, column=column, lines=lines)
        unit = unit or guess_epoch_unit(values)
        big = ~(np.abs(values * _NS_PER_UNIT[unit]) < _NS_LIMIT)
        _raise_outside(big, text, where)
        idx = epoch_to_utc(values, unit)
        if daily:
            idx = idx.tz_localize(None)
    else:
        parsed = _to_datetime(raw, text, fmt, where)
        bad = parsed.isna().to_numpy()
        if bad.any():
            _raise_first_missing(bad, raw, path=path, column=column, lines=lines)
            i = int(np.argmax(bad))
            want = f" (expected format {fmt!r})" if fmt else ""
            raise DataError(
                f"unparseable timestamp {text.iloc[i]!r}{want}; {int(bad.sum())} such rows",
                path=path,
                row=int(lines[i]),
                field=column,
            )
        idx = pd.DatetimeIndex(parsed)
        _raise_outside(outside_range(idx), text, where)
        if daily:
            idx = _local_wall(idx, text, fmt)
        elif idx.tz is None:
            idx = _localize(idx, timezone, path=path, column=column, lines=lines)
    if daily:
        _raise_time_of_day(idx, text, where)
        idx = idx.tz_localize("UTC")
    return pd.DatetimeIndex(idx.tz_convert("UTC").as_unit("ns"), name="timestamp")


def _local_wall(idx: pd.DatetimeIndex, text: pd.Series, fmt: str | None) -> pd.DatetimeIndex:
    """Naive wall times of parsed stamps, each in its own UTC offset (stamps with mixed
    offsets were parsed onto UTC: their ISO text is read again without the offset)."""
    if idx.tz is None:
        return idx
    if fmt is None and str(idx.tz) == "UTC":
        bare = text.astype("string").str.replace(_OFFSET, "", regex=True).str.strip()
        return pd.DatetimeIndex(pd.to_datetime(bare, format="ISO8601"))
    return idx.tz_localize(None)


def _raise_time_of_day(idx: pd.DatetimeIndex, text: pd.Series, where: dict[str, Any]) -> None:
    """DataError naming the first daily stamp whose wall time is not midnight."""
    ns = idx.as_unit("ns").asi8
    bad = ns % 86_400_000_000_000 != 0
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"timestamp {text.iloc[i]!r} has a time of day, but the data is daily; "
            f"{int(bad.sum())} such rows",
            path=where["path"],
            row=int(where["lines"][i]),
            field=where["column"],
        )


def _to_datetime(
    raw: pd.Series, text: pd.Series, fmt: str | None, where: dict[str, Any]
) -> pd.Series:
    """Text (or already datetime) cells as datetimes; NaT where unparseable. Stamps with
    different UTC offsets are compared on one (UTC) axis; naive stamps mixed with
    offset-bearing ones are a DataError (their zone is unknown)."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw
    try:
        return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce")
    except ValueError:
        aware = text.astype("string").str.contains(_OFFSET, regex=True).fillna(False).to_numpy()
        naive = ~aware & ~_is_blank(raw)
        if aware.any() and naive.any():
            i = int(np.argmax(naive))
            j = int(np.argmax(aware))
            raise DataError(
                f"mixed time zones: {text.iloc[i]!r} has no UTC offset but line "
                f"{int(where['lines'][j])} has ({text.iloc[j]!r})",
                path=where["path"],
                row=int(where["lines"][i]),
                field=where["column"],
            ) from None
        return pd.to_datetime(text, format=fmt or "ISO8601", errors="coerce", utc=True)


_OFFSET = r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)\s*$"


def _raise_first_missing(
    candidates: npt.NDArray[np.bool_], raw: pd.Series, *, path: str, column: str, lines: IntArray
) -> None:
    if not candidates.any():
        return
    blank = _is_blank(raw)
    if blank.any():
        i = int(np.argmax(blank))
        raise DataError("missing timestamp", path=path, row=int(lines[i]), field=column)


def _localize(
    idx: pd.DatetimeIndex, timezone: str, *, path: str, column: str, lines: IntArray
) -> pd.DatetimeIndex:
    """Attach ``timezone`` to naive wall times; DST gaps/overlaps are errors naming the row."""
    local = idx.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    bad = local.isna()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"wall time {idx[i]} is ambiguous or does not exist in {timezone}",
            path=path,
            row=int(lines[i]),
            field=column,
        )
    return local
