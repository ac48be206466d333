"""Import bars into the store: read, validate (reject or quarantine), optionally
back-adjust, then write bars, corporate actions, quarantined rows and the summary in one
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.adjustments import back_adjust
from alphapulse.data.catalog import load_checked, read_source
from alphapulse.data.validation import ValidationReport
from alphapulse.store import Store
from alphapulse.store.conflicts import (
    BarConflictError,
    Conflicts,
    OnConflict,
    check_on_conflict,
    conflict_message,
)
from alphapulse.store.imports import ImportExtras, ImportSummary

OnBad = Literal["reject", "quarantine"]
_TIMEFRAMES = {"1min": "1m", "5min": "5m", "15min": "15m", "30min": "30m", "1h": "1h",
               "1D": "1d", "1d": "1d"}  # fmt: skip


def timeframe_of(frame: pd.DataFrame, given: str | None) -> str:
    """The store timeframe: as given, else from the dataset spec's bar size."""
    if given:
        return given
    bar = str(frame.attrs.get("bar", ""))
    if bar in _TIMEFRAMES:
        return _TIMEFRAMES[bar]
    raise DataError("cannot infer the bar size; pass --timeframe (e.g. 1m, 1h, 1d)")


@dataclass(frozen=True)
class ImportResult:
    summary: ImportSummary
    report: ValidationReport
    quarantined: int
    actions: int


def long_frame(symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
    df = frame.reset_index()
    df.insert(0, "symbol", symbol)
    return df


def actions_frame(symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Dividend and split rows of a frame as corporate actions (ex-date, kind, value)."""
    parts = []
    if "dividend" in frame.columns:
        d = frame["dividend"]
        d = d[d.fillna(0) > 0]
        parts.append(pd.DataFrame({"ex_date": _dates(d), "action": "dividend", "value": d}))
    if "split" in frame.columns:
        s = frame["split"]
        s = s[(s.fillna(1) != 1) & (s.fillna(0) > 0)]
        parts.append(pd.DataFrame({"ex_date": _dates(s), "action": "split", "value": s}))
    if not parts:
        return pd.DataFrame(columns=["symbol", "ex_date", "action", "value"])
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "symbol", symbol)
    out["source"] = str(frame.attrs.get("dataset", "file"))
    return out


def _dates(s: pd.Series) -> list[object]:
    return list(pd.DatetimeIndex(s.index).date)


def check_adjust_covers_store(store: Store, frames: dict[str, pd.DataFrame], tf: str) -> None:
    """DataError when back-adjusting would have to change stored bars this import leaves
    alone: a split or dividend changes every bar before it, so stored ``tf`` bars of the
    symbol before the first imported one would keep the old basis (a false jump at the
    ex-date, e.g. a 4:1 split read as a 75% drop)."""
    for sym, frame in frames.items():
        actions = actions_frame(sym, frame)
        if actions.empty:
            continue
        before = store.read_bars(sym, tf, end=frame.index[0])
        if before.empty:
            continue
        first = actions.sort_values("ex_date", kind="stable").iloc[0]
        raise DataError(
            f"{sym}: the {first['action']} {first['value']:g} on {first['ex_date']} back-adjusts "
            f"every bar before it, but {len(before)} stored {tf} bars "
            f"({before.index[0].date()} .. {before.index[-1].date()}) are not in this import; "
            "import the whole history with --adjust --on-conflict replace",
            field=str(first["action"]),
            rule="adjust_partial_history",
        )


def quarantine_rows(report: ValidationReport) -> pd.DataFrame:
    """One row per error found (file, row, rule, field, value, reason)."""
    rows = [
        {
            "file": i.path,
            "row": i.row if i.row is not None else -1,
            "rule": i.rule,
            "field": i.field or "",
            "value": None if i.value is None else str(i.value),
            "reason": f"{i.rule}" + (f" in {i.field}" if i.field else "") + f": {i.value}",
            "symbol": i.symbol,
            "timestamp": i.timestamp,
        }
        for i in report.errors
    ]
    return pd.DataFrame(rows)


def conflict_error(
    conflicts: Conflicts, source: str, symbols: Sequence[str] | None = None
) -> DataError:
    """The reject error, naming the file and line of the first conflicting row in file
    order (rows are looked up again in ``source``: only on this error path)."""
    keys = zip(conflicts.symbols, conflicts.ts.tolist(), strict=True)
    index = {key: i for i, key in enumerate(keys)}
    hits: list[tuple[str, int, int]] = []  # (file, line, index into conflicts)
    for parts in read_source(source, symbols).values():
        for part in parts:
            for pos, t in enumerate(pd.DatetimeIndex(part.frame.index).asi8):
                if (i := index.get((part.symbol, int(t)))) is not None:
                    hits.append((part.path, int(part.lines[pos]), i))
                    break  # lines grow within a file: later rows cannot come first
    if not hits:
        return DataError(conflict_message(conflicts, 0), path=source, rule="conflict")
    path, line, i = min(hits)
    return DataError(conflict_message(conflicts, i), path=path, row=line, rule="conflict")


def import_source(
    store: Store,
    source: str,
    symbols: Sequence[str] | None = None,
    *,
    timeframe: str | None = None,
    on_bad: OnBad = "reject",
    on_conflict: OnConflict = "reject",
    adjust: bool = False,
    start: str | None = None,
    end: str | None = None,
) -> ImportResult:
    """Import a dataset or file. ``reject`` stores nothing when any row breaks a rule
    (DataError naming file, row and rule); ``quarantine`` stores the clean rows and the
    bad ones with their reasons. Bars that differ from stored ones follow ``on_conflict``:
    ``reject`` refuses the whole import (DataError naming the file, the first conflicting
    line, symbol, time, stored and new values), ``skip`` keeps the stored bars, ``replace``
    overwrites them; the summary counts them. Re-running an import is idempotent. With
    ``adjust``, a split or dividend in the import while earlier bars of the symbol are
    stored outside it is a DataError (see ``check_adjust_covers_store``)."""
    policy = check_on_conflict(on_conflict)
    loaded = load_checked(source, symbols, start=start, end=end, policy=on_bad)
    if not loaded.frames:
        raise DataError(f"{source}: no bars to import")
    first = next(iter(loaded.frames.values()))
    tf = timeframe_of(first, timeframe)
    if adjust:
        check_adjust_covers_store(store, loaded.frames, tf)
    frames = {s: back_adjust(f) if adjust else f for s, f in loaded.frames.items()}
    extras = ImportExtras(
        actions=pd.concat([actions_frame(s, f) for s, f in loaded.frames.items()]),
        quarantine=quarantine_rows(loaded.report),
        rows_quarantined=len(loaded.quarantined),
        detail={
            "issues": loaded.report.counts(),
            "warnings": len(loaded.report.warnings),
            "adjusted": adjust,
        },
    )
    try:
        summary = store.import_bars(
            (long_frame(s, f) for s, f in frames.items()),
            tf,
            source=source,
            path=source,
            on_conflict=policy,
            extras=extras,
        )
    except BarConflictError as exc:
        raise conflict_error(exc.conflicts, source, symbols) from None
    written = summary.detail
    return ImportResult(
        summary, loaded.report, int(written["quarantine_rows"]), int(written["actions"])
    )
