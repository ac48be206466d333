"""Generic reader for user files: CSV (any separator, header or not, gzip) and Parquet.

The layout is sniffed from the first lines and turned into a DatasetSpec, so user files go
through the same parsing (and the same row-level errors) as the shipped datasets.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.parsing import guess_epoch_unit, outside_range
from alphapulse.data.raw import RawBars
from alphapulse.data.sources.dataset import read_csv_table, table_to_raw
from alphapulse.data.sources.sniff import SAMPLE_LINES, SEPARATORS, head_lines
from alphapulse.data.spec import DatasetSpec, PriceBasis, SymbolSpec, TimestampSpec

SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz", ".parquet", ".pq")

#: canonical field -> accepted names, compared lower-case with non-alphanumerics removed.
ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "unixtimestamp", "unix", "datetime", "date", "time", "opentime"),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "last", "closeprice"),
    "volume": ("volume", "vol", "v"),
    "vwap": ("vwap",),
    "adj_open": ("adjopen", "adjustedopen"),
    "adj_high": ("adjhigh", "adjustedhigh"),
    "adj_low": ("adjlow", "adjustedlow"),
    "adj_close": ("adjclose", "adjustedclose"),
    "adj_volume": ("adjvolume", "adjustedvolume"),
    "dividend": ("dividend", "dividends", "exdividend", "dividendamount", "div"),
    "split": ("split", "splits", "splitratio", "splitcoefficient", "splitfactor", "stocksplits"),
    "symbol": ("symbol", "ticker", "name"),
}
TEXT_FORMATS = (
    "%Y%m%d %H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y-%m-%d %I-%p",
    "%a, %d %b %Y %H:%M:%S GMT",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d-%b-%Y",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
)


def norm(name: str) -> str:
    """Column name as compared with ALIASES."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def map_columns(columns: list[str]) -> dict[str, str]:
    """Canonical field -> source column, by case-insensitive alias (first alias wins)."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    out: dict[str, str] = {}
    for fld, names in ALIASES.items():
        hit = next((by_norm[n] for n in names if n in by_norm), None)
        if hit is None and fld == "volume":
            hit = next((c for c in columns if norm(c).startswith("volume")), None)
        if hit is not None and hit not in out.values():
            out[fld] = hit
    if out.get("timestamp") in {by_norm.get("date"), by_norm.get("time")}:
        date, time = by_norm.get("date"), by_norm.get("time")
        if date is not None and time is not None:
            out["timestamp"], out["_time"] = date, time
    return out


def symbol_from_name(path: Path) -> str:
    """Ticker from a file name: the name without data suffixes, upper-case."""
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.strip().upper()


def _sniff_separator(lines: list[str], path: Path) -> tuple[str, int]:
    """(separator, number of fields) from the data lines at the end of the sample."""
    body = [ln for ln in lines if ln.strip()]
    tail = body[len(body) // 2 :] if len(body) > 2 else body
    best: tuple[str, int] | None = None
    for sep in SEPARATORS:
        counts = {ln.count(sep) for ln in tail}
        if len(counts) == 1 and (n := counts.pop()) > 0 and (best is None or n + 1 > best[1]):
            best = (sep, n + 1)
    if best is None:
        raise DataError(f"cannot tell the column separator (tried {SEPARATORS!r})", path=str(path))
    return best


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _positional(n: int, first: list[str], path: Path) -> list[str]:
    if n == 6:
        return ["timestamp", "open", "high", "low", "close", "volume"]
    if n == 5:
        return ["timestamp", "open", "high", "low", "close"]
    if n == 7 and not _is_number(first[1]):
        return ["date", "time", "open", "high", "low", "close", "volume"]
    raise DataError(
        f"no header row and {n} columns: cannot tell which column is which "
        "(expected timestamp,open,high,low,close[,volume])",
        path=str(path),
        row=1,
    )


def _timestamp_spec(
    values: list[str], column: str, time_column: str | None, timezone: str, stamp: str
) -> tuple[TimestampSpec, bool, bool, pd.Timedelta]:
    """Timestamp layout, plus (daily, descending, bar length) guessed from sample values."""
    nums = [float(v) for v in values if _is_number(v)]
    kind: Literal["text", "epoch"] = "text"
    fmt: str | None = None
    unit = None
    if values and len(nums) == len(values) and time_column is None:
        arr = np.asarray(nums)
        if np.all((arr >= 19000101) & (arr <= 21001231) & (arr == np.round(arr))):
            fmt = "%Y%m%d"
            parsed = pd.to_datetime(pd.Series(values), format=fmt, errors="coerce")
        else:
            kind, unit = "epoch", guess_epoch_unit(arr)
            parsed = pd.Series(pd.to_datetime(np.round(arr).astype(np.int64), unit=unit))
    else:
        sample = pd.Series(values, dtype=str)
        parsed = pd.to_datetime(sample, format="ISO8601", errors="coerce", utc=True)
        if parsed.isna().any():
            for cand in TEXT_FORMATS:
                trial = pd.to_datetime(sample, format=cand, errors="coerce")
                if trial.notna().all():
                    fmt, parsed = cand, trial
                    break
    good = pd.DatetimeIndex(parsed.dropna())
    good = good[~outside_range(good)].as_unit("ns")  # the reader names rows outside
    diffs = np.diff(good.asi8) if len(good) > 1 else np.array([86_400 * 10**9])
    # newest-first when most steps go back in time (one stray row cannot flip the file)
    descending = bool(len(good) > 1 and (diffs < 0).sum() > (diffs > 0).sum())
    bar = pd.Timedelta(int(np.median(np.abs(diffs[diffs != 0]))) if (diffs != 0).any() else 0)
    wall = good.tz_localize(None) if good.tz is not None else good
    daily = bool(len(wall)) and bool((wall == wall.normalize()).all()) and bar >= pd.Timedelta("1D")
    spec = TimestampSpec(
        column=column,
        time_column=time_column,
        kind=kind,
        format=fmt,
        unit=unit,
        timezone=timezone,
        stamp="end" if stamp == "end" else "start",
    )
    return spec, daily, descending, bar


def sniff_csv(
    path: Path, *, timezone: str = "UTC", stamp: Literal["start", "end"] = "start"
) -> DatasetSpec:
    """A DatasetSpec describing one CSV file, guessed from its first lines."""
    lines = head_lines(path)
    if not [ln for ln in lines if ln.strip()]:
        raise DataError("file is empty", path=str(path))
    sep, n = _sniff_separator(lines, path)
    skip = next(i for i, ln in enumerate(lines) if ln.count(sep) == n - 1)
    first = [f.strip().strip('"') for f in lines[skip].split(sep)]
    nxt = lines[skip + 1].split(sep) if skip + 1 < len(lines) else first
    mapped = map_columns(first)
    fewer_numbers = sum(map(_is_number, first)) < sum(map(_is_number, nxt))
    header = bool(set(mapped) & {"open", "close", "timestamp"}) or fewer_numbers
    names = first if header else _positional(n, first, path)
    if not header:
        mapped = map_columns(names)
    if "timestamp" not in mapped:
        raise DataError(
            f"missing required column 'timestamp' (no date/datetime/timestamp/time column in "
            f"{names})",
            path=str(path),
            field="timestamp",
        )
    missing = [f for f in ("open", "high", "low", "close") if f not in mapped]
    if missing:
        raise DataError(
            f"missing required column {missing[0]!r} (columns: {names})",
            path=str(path),
            field=missing[0],
        )
    col = names.index(mapped["timestamp"])
    tcol = names.index(mapped["_time"]) if "_time" in mapped else None
    data_rows = [ln.split(sep) for ln in lines[skip + (1 if header else 0) :] if ln.strip()]
    values = [r[col].strip().strip('"') for r in data_rows if len(r) == n]
    if tcol is not None:
        values = [f"{r[col].strip()} {r[tcol].strip()}" for r in data_rows if len(r) == n]
    ts, daily, descending, bar = _timestamp_spec(
        values, mapped["timestamp"], mapped.get("_time"), timezone, stamp
    )
    return _file_spec(
        path,
        mapped,
        f"sniffed from {path}",
        (ts, daily, descending, bar),
        separator=sep,
        skip_rows=skip,
        header=header,
        names=None if header else names,
    )


def _file_spec(
    path: Path,
    mapped: dict[str, str],
    description: str,
    timing: tuple[TimestampSpec, bool, bool, pd.Timedelta],
    **layout: Any,
) -> DatasetSpec:
    """The DatasetSpec of one sniffed file: ``mapped`` columns, ``timing`` from
    ``_timestamp_spec``, ``layout`` the reader settings (CSV only)."""
    ts, daily, descending, bar = timing
    fields = {k: v for k, v in mapped.items() if k not in {"timestamp", "_time", "symbol"}}
    return DatasetSpec(
        name=f"file:{path.name}",
        description=description,
        folder=str(path.parent),
        files=path.name,
        symbol=SymbolSpec(column=mapped["symbol"])
        if "symbol" in mapped
        else SymbolSpec(pattern=rf"(?P<symbol>{re.escape(path.name)})"),
        **layout,
        columns=dict(fields),
        timestamp=ts,
        bar="1D" if daily else f"{max(int(bar.total_seconds()), 1)}s",
        calendar="unknown",
        order="descending" if descending else "ascending",
        price_basis=PriceBasis(split_adjusted=False, dividend_adjusted=False, note="unknown"),
    )


def _parquet_spec(
    df: pd.DataFrame, path: Path, timezone: str, stamp: Literal["start", "end"]
) -> DatasetSpec:
    names = [str(c) for c in df.columns]
    mapped = map_columns(names)
    if "timestamp" not in mapped:
        raise DataError(f"missing required column 'timestamp' (columns: {names})", path=str(path))
    tcol = mapped["timestamp"]
    sample = df[tcol].head(SAMPLE_LINES)
    if pd.api.types.is_datetime64_any_dtype(sample.dtype):
        values = [str(v) for v in sample]
    else:
        values = [str(v) for v in sample.astype(str)]
    ts, daily, descending, bar = _timestamp_spec(values, tcol, None, timezone, stamp)
    return _file_spec(path, mapped, f"parquet file {path}", (ts, daily, descending, bar))


def read_file(
    path: Path,
    *,
    symbol: str | None = None,
    timezone: str = "UTC",
    stamp: Literal["start", "end"] = "start",
) -> list[RawBars]:
    """Bars of one CSV/Parquet file, one RawBars per symbol.

    The symbol comes from a symbol/ticker/name column, else ``symbol``, else the file name.
    Naive timestamps are read in ``timezone``; ``stamp='end'`` shifts end-stamped bars to start.
    """
    sym = symbol.strip().upper() if symbol else symbol_from_name(path)
    if path.name.lower().endswith((".parquet", ".pq")):
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read Parquet: {exc}", path=str(path)) from exc
        if isinstance(df.index, pd.DatetimeIndex) or df.index.name is not None:
            df = df.reset_index()
        spec = _parquet_spec(df, path, timezone, stamp)
        lines = np.arange(1, len(df) + 1, dtype=np.int64)
    else:
        spec = sniff_csv(path, timezone=timezone, stamp=stamp)
        df, lines = read_csv_table(spec, path)
    return table_to_raw(spec, df, lines, path, symbol=sym)


def data_files(folder: Path) -> list[Path]:
    """CSV/Parquet files directly inside ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))


def read_path(
    path: Path, *, timezone: str = "UTC", stamp: Literal["start", "end"] = "start"
) -> list[RawBars]:
    """Bars of a file, or of every data file directly inside a folder."""
    if path.is_dir():
        files = data_files(path)
        if not files:
            raise DataError(
                f"no CSV/Parquet files ({', '.join(SUFFIXES)}) in folder", path=str(path)
            )
        return [b for f in files for b in read_file(f, timezone=timezone, stamp=stamp)]
    return read_file(path, timezone=timezone, stamp=stamp)
