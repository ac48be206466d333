"""Read the files of a dataset described by a DatasetSpec."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.fields import PRICE_FIELDS
from alphapulse.data.parsing import IntArray, parse_timestamps, to_float
from alphapulse.data.raw import RawBars
from alphapulse.data.sources.sniff import find_header
from alphapulse.data.spec import DatasetSpec

_READ_ERRORS = (
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    ValueError,
    UnicodeDecodeError,
    OSError,
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
)


def basis_meta(spec: DatasetSpec) -> dict[str, Any]:
    """Price-basis flags of a spec, stored in each frame's ``attrs``."""
    return {
        "dataset": spec.name,
        "bar": spec.bar,
        "calendar": spec.calendar,
        **spec.price_basis.model_dump(exclude={"note"}),
    }


def resolve_columns(spec: DatasetSpec, present: list[str], path: str) -> dict[str, str]:
    """Canonical field -> source column actually present; DataError for a missing required one."""
    out: dict[str, str] = {}
    for fld in spec.columns:
        found = next((c for c in spec.candidates(fld) if c in present), None)
        if found is not None:
            out[fld] = found
        elif fld in PRICE_FIELDS:
            want = " or ".join(repr(c) for c in spec.candidates(fld))
            raise DataError(
                f"missing required column {want} (columns: {present})", path=path, field=fld
            )
    return out


def _wanted(spec: DatasetSpec) -> set[str]:
    names = {c for f in spec.columns for c in spec.candidates(f)}
    names.add(spec.timestamp.column)
    if spec.timestamp.time_column:
        names.add(spec.timestamp.time_column)
    if spec.symbol.column:
        names.add(spec.symbol.column)
    return names


def _required(spec: DatasetSpec) -> list[list[str]]:
    """Groups of column names; a header holds one name of each."""
    groups = [[spec.timestamp.column], *(spec.candidates(f) for f in PRICE_FIELDS)]
    extra = [spec.timestamp.time_column, spec.symbol.column]
    return groups + [[c] for c in extra if c is not None]


#: Name given to the field after the last column: rows that fill it have too many fields.
_EXTRA = "\x00extra"


def read_csv_table(spec: DatasetSpec, path: Path) -> tuple[pd.DataFrame, IntArray]:
    """The needed columns of a CSV file as text/number cells, and each row's 1-based line.

    With a header, its line and separator are found in the file (``sniff.find_header``):
    the spec's ``skip_rows``/``separator`` are the first guess, names match in any case.
    A row with more fields than the header (or the spec's names) is a DataError."""
    wanted = _wanted(spec)
    if spec.header:
        found = find_header(
            path, _required(spec), wanted, separator=spec.separator, skip_rows=spec.skip_rows
        )
        skip, sep, rename = found.skip_rows, found.separator, found.rename
    else:
        skip, sep, rename = spec.skip_rows, spec.separator, {}
    try:
        names = _header(path, sep, skip) if spec.header else list(spec.names or [])
        df = pd.read_csv(
            path,
            sep=sep,
            skiprows=skip + (1 if spec.header else 0),
            header=None,
            names=[*names, _EXTRA],
            skip_blank_lines=False,
            engine="c",
        )
    except _READ_ERRORS as exc:
        raise _read_error(exc, path) from exc
    first = skip + (2 if spec.header else 1)
    lines = np.arange(first, first + len(df), dtype=np.int64)
    _raise_extra_fields(df.pop(_EXTRA), lines, len(names), path)
    keep = [c for c in df.columns if str(c).strip() in wanted or str(c).strip() in rename]
    df = df[keep].set_axis([rename.get(str(c).strip(), str(c).strip()) for c in keep], axis=1)
    blank = df.isna().all(axis=1).to_numpy()
    if blank.any():
        df, lines = df[~blank], lines[~blank]
    return df, lines


def _header(path: Path, sep: str, skip: int) -> list[str]:
    """The column names of the header line after ``skip`` lines, as pandas reads them."""
    return [str(c) for c in pd.read_csv(path, sep=sep, skiprows=skip, nrows=0).columns]


_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_error(exc: Exception, path: Path) -> DataError:
    """The DataError for a failed read; a row with too many fields names its line."""
    if (m := _FIELD_COUNT.search(str(exc))) is not None:
        expected, line, saw = map(int, m.groups())  # ``expected`` counts the _EXTRA field
        return DataError(
            f"{saw} fields, more than the {expected - 1} columns", path=str(path), row=line
        )
    return DataError(f"cannot read CSV: {exc}", path=str(path))


def _raise_extra_fields(extra: pd.Series, lines: IntArray, n: int, path: Path) -> None:
    """DataError naming the first line with a value after its ``n`` columns."""
    bad = extra.notna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"more fields than the {n} columns ({int(bad.sum())} such rows)",
            path=str(path),
            row=int(lines[i]),
        )


def table_to_raw(
    spec: DatasetSpec, df: pd.DataFrame, lines: IntArray, path: Path, symbol: str | None = None
) -> list[RawBars]:
    """Parse a read table into RawBars, one per symbol (file order kept).

    ``symbol`` overrides the spec's file-name rule for files without a symbol column.
    """
    where = str(path)
    cols = resolve_columns(spec, [str(c) for c in df.columns], where)
    ts = spec.timestamp
    for needed in (ts.column, ts.time_column, spec.symbol.column):
        if needed is not None and needed not in df.columns:
            raise DataError(f"missing required column {needed!r}", path=where, field=needed)
    stamps = df[ts.column]
    if ts.time_column is not None:
        stamps = stamps.astype(str) + " " + df[ts.time_column].astype(str)
    idx = parse_timestamps(
        stamps,
        path=where,
        column=ts.column,
        lines=lines,
        kind=ts.kind,
        fmt=ts.format,
        unit=ts.unit,
        timezone=ts.timezone,
        daily=spec.is_daily,
    )
    if ts.stamp == "end":
        idx = pd.DatetimeIndex(idx - spec.bar_length, name=idx.name)
    data = {f: to_float(df[c], path=where, field=c, lines=lines) for f, c in cols.items()}
    if "volume" not in data:
        data["volume"] = np.full(len(df), np.nan)
    frame = pd.DataFrame(data, index=idx)
    meta = basis_meta(spec)
    descending = spec.order == "descending"
    if spec.symbol.column is None:
        symbol = symbol or spec.symbol_of(path)
        if symbol is None:
            raise DataError(f"file name does not match {spec.symbol.pattern!r}", path=where)
        return [RawBars(where, symbol, frame, lines, descending, meta)]
    raw_sym = df[spec.symbol.column]
    if raw_sym.isna().any():
        i = int(np.argmax(raw_sym.isna().to_numpy()))
        raise DataError("missing symbol", path=where, row=int(lines[i]), field=spec.symbol.column)
    symbols = np.array([spec.symbol.normalize(str(s)) for s in raw_sym], dtype=object)
    out = []
    for sym in pd.unique(symbols):
        mask = symbols == sym
        out.append(RawBars(where, str(sym), frame[mask], lines[mask], descending, meta))
    return out


def read_spec_file(spec: DatasetSpec, path: Path) -> list[RawBars]:
    """All bars in one file of ``spec``'s dataset."""
    df, lines = read_csv_table(spec, path)
    return table_to_raw(spec, df, lines, path)
