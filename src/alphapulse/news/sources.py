"""News sources: the ``NewsSource`` interface and the reader for a folder of
``<SYMBOL>_headlines.csv[.gz]`` files (columns date, symbol, headline[, source])."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.news import items

REQUIRED = ("date", "headline")


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
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read headlines: {exc}", path=str(path)) from None
    for col in REQUIRED:
        if col not in raw.columns:
            raise DataError("missing column", path=str(path), field=col)
    raw = raw.reset_index(drop=True)  # position = line - 2, kept while blank lines are dropped
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


def _first_bad(path: Path, bad: pd.Series, field: str, message: str) -> None:
    if bad.any():
        row = int(bad.index[int(bad.to_numpy().argmax())]) + 2  # 1-based line, after the header
        raise DataError(message, path=str(path), row=row, field=field)
