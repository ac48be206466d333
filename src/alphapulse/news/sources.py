"""News sources: the ``NewsSource`` interface and the reader for a folder of
``<SYMBOL>_headlines.csv[.gz]`` files (columns date, symbol, headline[, source])."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.news import items

REQUIRED = ("date", "headline")
_READ: dict[str, Any] = {
    "header": None,  # the header row as read: pandas would rename a duplicate name
    "dtype": str,
    "keep_default_na": False,
    "skip_blank_lines": False,
}
#: pandas' C parser counts records (the header is line 1, or row 0), not lines
_PARSER_ERROR = re.compile(
    r"Expected (\d+) fields in line (\d+), saw (\d+)|EOF inside string starting at row (\d+)"
)


class NewsSource(Protocol):
    """Anything that returns normalised items (see ``items.normalize``) for symbols."""

    def fetch(
        self, symbols: Sequence[str], start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame: ...


def resolve_folder(name_or_path: str) -> Path:
    """A folder path as is, else a folder of that name under the data root."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    from alphapulse.data.catalog import data_root

    folder = data_root() / name_or_path
    if not folder.is_dir():
        raise DataError(f"news source {name_or_path!r}: no such folder (nor under {data_root()})")
    return folder


class FolderNewsSource:
    """Headlines dated by day; each is known at its date's session close (the time of day
    is unknown, so it may have been published after the session)."""

    def __init__(self, folder: str | Path, calendar: str = "XNYS") -> None:
        self.folder = resolve_folder(str(folder))
        self.calendar = calendar

    def files(self, symbols: Sequence[str]) -> dict[str, Path]:
        """The file of each symbol (upper-case); a missing one is a DataError."""
        out: dict[str, Path] = {}
        for sym in (s.strip().upper() for s in symbols):
            found = sorted(self.folder.glob(f"{sym}_headlines.csv*"))
            if not found:
                raise DataError(f"news: no headlines file for {sym} in {self.folder}")
            out[sym] = found[0]
        return out

    def fetch(
        self, symbols: Sequence[str], start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        parts = [read_file(path, sym, self.calendar) for sym, path in self.files(symbols).items()]
        table = items.concat(parts)
        if start is not None:
            table = table[table["known_at"] >= _utc(start)]
        if end is not None:
            table = table[table["known_at"] <= _utc(end) + pd.Timedelta("1D")]
        return table.reset_index(drop=True)


def _utc(when: datetime) -> pd.Timestamp:
    """``when`` in UTC (a naive one is taken as UTC)."""
    ts = pd.Timestamp(when)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def read_file(path: Path, symbol: str, calendar: str = "XNYS") -> pd.DataFrame:
    """One headlines file, checked: a bad row is a DataError naming file, line and field."""
    records = _records(path)
    names = [str(name) for name in records.iloc[0]]
    known = (*REQUIRED, "symbol", "source")
    for col in known:
        if names.count(col) > 1:
            raise DataError("duplicate column", path=str(path), row=1, field=col)
    for name in names:  # ' headline' or 'Headline' would be ignored, then reported missing
        col = name.strip().lower()
        if name != col and col in known and col not in names:
            hint = f"missing column (the header has {name!r}: write it as {col!r})"
            raise DataError(hint, path=str(path), row=1, field=col)
    for col in REQUIRED:
        if col not in names:
            raise DataError("missing column", path=str(path), field=col)
    raw = records.iloc[1:].set_axis(names, axis=1)  # indexed by line
    raw = raw[(raw != "").any(axis=1)]
    dates = pd.to_datetime(raw["date"], format="%Y-%m-%d", errors="coerce")
    _first_bad(path, dates.isna(), "date", "not a YYYY-MM-DD date")
    _first_bad(path, raw["headline"].str.strip() == "", "headline", "empty headline")
    frame = pd.DataFrame({"date": dates, "headline": raw["headline"], "symbol": symbol})
    if "symbol" in raw.columns:
        other = raw["symbol"].str.strip().str.upper() != symbol
        _first_bad(path, other, "symbol", f"symbol is not {symbol}")
    if "source" in raw.columns:
        frame["source"] = raw["source"]
    return items.normalize(frame, calendar=calendar)


def _records(path: Path) -> pd.DataFrame:
    """The file's records as strings, the header first, indexed by the line each starts
    on; an unreadable file is a DataError."""
    try:
        return _parse(path, "utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise DataError(f"cannot read headlines: {exc}", path=str(path)) from None


def _parse(path: Path, encoding: str) -> pd.DataFrame:
    """``_records`` in ``encoding``; a malformed record is a DataError naming its line."""
    try:
        records = pd.read_csv(path, encoding=encoding, **_READ)
    except pd.errors.ParserError as exc:
        found = _PARSER_ERROR.search(str(exc))
        if found is None:  # its message ends in a line break
            raise DataError(f"cannot read headlines: {str(exc).strip()}", path=str(path)) from None
        expected, number, saw, unclosed = found.groups()
        before = int(unclosed) if unclosed else int(number) - 1  # records before the bad one
        line = 1  # nrows=0 would still parse the header record
        if before:
            line += int(_spans(pd.read_csv(path, encoding=encoding, nrows=before, **_READ)).sum())
        message = f"expected {expected} fields, saw {saw}" if expected else "unclosed quote"
        raise DataError(message, path=str(path), row=line) from None
    spans = _spans(records)
    return records.set_axis(1 + spans.cumsum() - spans)


def _spans(records: pd.DataFrame) -> pd.Series:
    """Lines each record spans: one, plus the line breaks inside its quoted fields."""
    return 1 + records.apply(lambda col: col.str.count(r"\r\n|\r|\n")).sum(axis=1)


def _not_utf8(path: Path) -> DataError:
    """The error naming the first field whose bytes are not UTF-8 (found reading the file
    as Latin-1, one character per byte)."""
    records = _parse(path, "latin-1")
    bad = ~records.map(_is_utf8).to_numpy()
    row, col = divmod(int(bad.argmax()), bad.shape[1])  # there is one: UTF-8 decoding failed
    field = str(records.iat[0, col])
    return DataError("not UTF-8 text", path=str(path), row=int(records.index[row]), field=field)


def _is_utf8(latin1: str) -> bool:
    """Whether the bytes of a field read as Latin-1 are UTF-8."""
    try:
        latin1.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _first_bad(path: Path, bad: pd.Series, field: str, message: str) -> None:
    if bad.any():
        line = int(bad.index[int(bad.to_numpy().argmax())])  # indexed by line
        raise DataError(message, path=str(path), row=line, field=field)
