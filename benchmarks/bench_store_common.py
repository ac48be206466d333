"""Shared helpers of the store benchmarks: synthetic bars, the real 1-minute data set and
throw-away databases (a temp SQLite file, or a fresh PostgreSQL schema)."""

from __future__ import annotations

import contextlib
import gzip
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy.engine import make_url

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "intraday_1min_2024"


def trading_minutes(days: int = 252, year: int = 2024) -> pd.DatetimeIndex:
    """Regular-session minute starts (14:30-21:00 UTC) of the first ``days`` weekdays."""
    sessions = pd.bdate_range(f"{year}-01-02", periods=days, tz="UTC").as_unit("ns")
    offsets = pd.to_timedelta(np.arange(390), unit="min") + pd.Timedelta(hours=14, minutes=30)
    stamps = (sessions.asi8[:, None] + offsets.as_unit("ns").asi8[None, :]).ravel()
    return pd.DatetimeIndex(pd.to_datetime(stamps, unit="ns", utc=True), name="timestamp")


def synthetic_bars(symbol: str, days: int = 252, seed: int = 0) -> pd.DataFrame:
    """One year (by default) of random-walk 1-minute bars of one symbol (~98k rows)."""
    rng = np.random.default_rng(seed)
    ts = trading_minutes(days)
    n = len(ts)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 2e-4, n)) * close
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": ts,
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.integers(100, 10_000, n).astype(np.float64),
        }
    )


def real_bars(path: Path) -> pd.DataFrame:
    """One file of the intraday_1min_2024 set (semicolon CSV, epoch-ms bar starts)."""
    with gzip.open(path, "rt") as fh:
        raw = pd.read_csv(fh, sep=";")
    return pd.DataFrame(
        {
            "symbol": path.name.split("_")[0],
            "timestamp": pd.to_datetime(raw["timestamp"], unit="ms", utc=True),
            "open": raw["open"].astype(float),
            "high": raw["high"].astype(float),
            "low": raw["low"].astype(float),
            "close": raw["close"].astype(float),
            "volume": raw["volume"].astype(float),
            "vwap": raw["price"].astype(float),
        }
    )


@contextlib.contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A URL of an empty database: a temp SQLite file when ``url`` is None or SQLite,
    else a fresh schema in the given PostgreSQL database, dropped afterwards."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def percentiles(samples_s: list[float]) -> str:
    """``p50/p99/max`` of timings in milliseconds."""
    ms = np.array(samples_s) * 1e3
    return (
        f"p50 {np.percentile(ms, 50):7.2f} ms  p99 {np.percentile(ms, 99):7.2f} ms"
        f"  max {ms.max():7.2f} ms  (n={len(ms)})"
    )
