"""The normalised news item table: one row per (item, symbol), UTC times and the time
from which the item may be used (``known_at``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.calendars import calendar_for

COLUMNS = ("id", "symbol", "headline", "source", "published_at", "known_at", "text_hash")
_NY = "America/New_York"


def text_hash(text: str) -> str:
    """Stable 16-hex-digit hash of a headline (whitespace collapsed, case kept)."""
    norm = " ".join(text.split())
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def session_close(dates: pd.DatetimeIndex, calendar: str = "XNYS") -> pd.DatetimeIndex:
    """UTC close of each naive date's session; 16:00 New York on a date without one."""
    dates = pd.DatetimeIndex(dates).normalize()
    fallback = (dates + pd.Timedelta(hours=16)).tz_localize(_NY).tz_convert("UTC")
    if not len(dates):
        return fallback
    cal = calendar_for(calendar, dates.min(), dates.max())
    closes = cal.schedule["close"]
    found = closes.reindex(dates)
    out = np.where(found.isna().to_numpy(), fallback.to_numpy(), found.to_numpy())
    return pd.DatetimeIndex(pd.to_datetime(out, utc=True))


def normalize(
    rows: pd.DataFrame, *, calendar: str = "XNYS", min_delay: pd.Timedelta | None = None
) -> pd.DataFrame:
    """Items in the normal form, sorted by ``known_at``.

    ``rows`` has ``symbol``, ``headline`` and either ``published_at`` (tz-aware; a naive
    time is a DataError naming its row) or a ``date`` only. A timed item is known at
    ``published_at + min_delay``; a date-only item at that date's session close (it may
    have been published after the session).
    """
    out = pd.DataFrame(index=rows.index)
    out["symbol"] = rows["symbol"].astype(str).str.strip().str.upper()
    out["headline"] = rows["headline"].astype(str).map(lambda s: " ".join(s.split()))
    out["source"] = rows["source"].astype(str) if "source" in rows else ""
    if "published_at" in rows:
        pub = _aware_utc(rows["published_at"])
        out["published_at"] = pub
        out["known_at"] = pub + (min_delay or pd.Timedelta(0))
    else:
        out["published_at"] = pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]")
        out["known_at"] = session_close(pd.DatetimeIndex(pd.to_datetime(rows["date"])), calendar)
    out["text_hash"] = [text_hash(h) for h in out["headline"]]
    ids = out["symbol"].astype(object) + ":" + out["text_hash"].astype(object)
    out["id"] = rows["id"].astype(str) if "id" in rows else ids
    out = out.sort_values(["known_at", "symbol", "text_hash"], kind="stable")
    return out.loc[:, list(COLUMNS)].reset_index(drop=True)


def _aware_utc(times: pd.Series) -> pd.Series:
    """Tz-aware ``published_at`` times in UTC; a naive one (its zone unknown) is an error."""
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        naive = times.map(lambda t: (ts := pd.Timestamp(t)) is not pd.NaT and ts.tzinfo is None)
        if naive.any():
            row = int(naive.to_numpy().argmax())
            raise DataError("time without a time zone", row=row, field="published_at")
    return pd.to_datetime(times, utc=True)


def known_ns(table: pd.DataFrame) -> npt.NDArray[np.int64]:
    """``known_at`` of each item as UTC nanoseconds."""
    return pd.DatetimeIndex(table["known_at"]).as_unit("ns").asi8.astype(np.int64)


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several normalised tables as one, sorted by ``known_at``."""
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty()
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["known_at", "symbol", "text_hash"], kind="stable")
    return out.reset_index(drop=True)


def empty() -> pd.DataFrame:
    """A normalised table without rows."""
    rows = pd.DataFrame({"symbol": pd.Series([], dtype=str), "headline": pd.Series([], dtype=str)})
    rows["published_at"] = pd.Series([], dtype="datetime64[ns, UTC]")
    return normalize(rows)
