"""A run folder read back for reporting: summary.json and the CSV tables beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphapulse.analytics.report import fmt
from alphapulse.core.errors import DataError

OPTIONAL_TABLES = ("trades", "fills", "risk_events", "regimes", "anomalies")
_NUMBERS = ("periods_per_year",)  # read as numbers besides the metrics tables' values
_TIME_COLUMNS = {
    "equity": ("timestamp",),
    "trades": ("entry_time", "exit_time"),
    "fills": ("timestamp",),
    "risk_events": ("timestamp",),
    "regimes": ("timestamp",),
    "anomalies": ("timestamp",),
}


#: Numeric columns each table must have (when it has rows).
_NUMERIC = {
    "equity": ("equity", "exposure"),
    "trades": ("entry_price", "exit_price", "quantity", "pnl", "bars_held"),
    "fills": ("quantity", "price", "fee"),
}
_TEXT = {"trades": ("symbol", "side"), "fills": ("symbol",), "risk_events": ("kind",)}


@dataclass
class RunData:
    """One run's outputs; absent optional tables are empty frames."""

    name: str
    path: Path
    summary: dict[str, Any]
    equity: pd.DataFrame  # indexed by UTC timestamp
    tables: dict[str, pd.DataFrame]

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    @property
    def equity_series(self) -> pd.Series:
        return self.equity["equity"].astype(float)


def load_run(path: Path) -> RunData:
    """Read a run folder written by ``engine.outputs.write_outputs``; a missing or broken
    file raises one ``DataError`` naming it."""
    if not path.is_dir():
        raise DataError(f"{path}: not a run folder", path=str(path))
    summary_path = path / "summary.json"
    if not summary_path.is_file():
        raise DataError(f"{summary_path}: missing (not a run folder?)", path=str(summary_path))
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{summary_path}: line {exc.lineno}: invalid JSON", path=str(summary_path)
        ) from None
    except UnicodeDecodeError:
        raise DataError(f"{summary_path}: not UTF-8 text", path=str(summary_path)) from None
    if not isinstance(summary, dict):
        raise DataError(f"{summary_path}: not a JSON object", path=str(summary_path))
    _check_numbers(summary, summary_path)
    equity = _read(path, "equity", required=True)
    if "equity" not in equity.columns or not len(equity):
        raise DataError(f"{path / 'equity.csv'}: no equity column or rows", field="equity")
    equity = equity.set_index("timestamp").sort_index()
    tables = {name: _read(path, name) for name in OPTIONAL_TABLES}
    name = str(summary.get("strategy") or path.name)
    return RunData(name=name, path=path, summary=summary, equity=equity, tables=tables)


def _check_numbers(summary: dict[str, Any], summary_path: Path) -> None:
    """Every value the report reads as a number is one (or null): a DataError naming
    the first that is not."""
    for key in (*(k for k, _, _ in (*fmt.METRICS, *fmt.ROBUSTNESS)), *_NUMBERS):
        v = fmt.dig(summary, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise DataError(
                f"{summary_path}: {key}: not a number ({v!r})", path=str(summary_path), field=key
            )


def _read(path: Path, name: str, *, required: bool = False) -> pd.DataFrame:
    file = path / f"{name}.csv"
    if not file.is_file():
        if required:
            raise DataError(f"{file}: missing", path=str(file))
        return pd.DataFrame()
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: unreadable CSV ({exc})", path=str(file)) from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    for col in _TIME_COLUMNS.get(name, ()):
        if col not in frame.columns:
            if required or len(frame):
                raise DataError(f"{file}: missing column {col!r}", path=str(file), field=col)
            continue
        parsed = pd.to_datetime(frame[col], utc=True, errors="coerce")
        bad = parsed.isna() & frame[col].notna()
        if bad.any():
            row = int(bad.to_numpy().argmax()) + 2
            raise DataError(
                f"{file}: row {row}: {col}: not a timestamp", path=str(file), row=row, field=col
            )
        frame[col] = parsed
    if len(frame):
        _check_columns(file, frame, name)
    return frame


def _check_columns(file: Path, frame: pd.DataFrame, name: str) -> None:
    for col in _TEXT.get(name, ()) + _NUMERIC.get(name, ()):
        if col not in frame.columns:
            raise DataError(f"{file}: missing column {col!r}", path=str(file), field=col)
    for col in _NUMERIC.get(name, ()):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna() & frame[col].notna()
        if bad.any():
            row = int(bad.to_numpy().argmax()) + 2
            raise DataError(
                f"{file}: row {row}: {col}: not a number", path=str(file), row=row, field=col
            )
        frame[col] = values.astype(float)
