"""Imports: their summaries, quarantined rows and atomic multi-batch bar imports."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import Connection

from alphapulse.core.errors import DataError
from alphapulse.store.bars import import_batch
from alphapulse.store.conflicts import (
    BarConflictError,
    Conflicts,
    OnConflict,
    check_on_conflict,
    find_conflicts,
)
from alphapulse.store.frames import Col, frame_records, json_safe
from alphapulse.store.reference import record_corporate_actions
from alphapulse.store.runs import upsert, utc_now
from alphapulse.store.schema import TABLES
from alphapulse.store.validate import bar_batch, check_name, check_timeframe

IMPORT_STATUSES: Final = ("running", "completed", "failed", "partial")
QUARANTINE_COLS: Final = (
    Col("file", "str", default="", sources=("file", "path")),
    Col("row", "int", default=-1),
    Col("rule", "key", required=True),
    Col("field", "str", default=""),
    Col("value", "str"),
    Col("reason", "str", required=True, sources=("reason", "message")),
    Col("symbol", "str"),
    Col("ts", "ns", sources=("timestamp", "ts")),
)


@dataclass(frozen=True)
class ImportSummary:
    """What one import did; ``import_id`` is its idempotency key."""

    import_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    source: str | None = None
    path: str | None = None
    timeframe: str | None = None
    status: str = "completed"
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    symbols: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def conflicts(self) -> int:
        """Bars that differed from stored ones (replaced, skipped, or refusing the import)."""
        return int(self.detail.get("conflicts", 0))

    @property
    def on_conflict(self) -> str | None:
        """The conflict policy the import ran under."""
        value = self.detail.get("on_conflict")
        return None if value is None else str(value)

    @staticmethod
    def coerce(summary: ImportSummary | Mapping[str, Any]) -> ImportSummary:
        """An ``ImportSummary`` from itself or a mapping of its fields (unknown keys go
        to ``detail``)."""
        if isinstance(summary, ImportSummary):
            return summary
        known = set(ImportSummary.__dataclass_fields__)
        fields = {k: v for k, v in summary.items() if k in known}
        extra = {k: v for k, v in summary.items() if k not in known}
        if extra:
            fields["detail"] = {**dict(fields.get("detail") or {}), **extra}
        if "symbols" in fields:
            fields["symbols"] = tuple(fields["symbols"])
        return ImportSummary(**fields)


@dataclass(frozen=True)
class ImportExtras:
    """What an import writes besides bars, in the same transaction: corporate actions,
    quarantined rows (with how many input rows they stand for) and summary detail. Their
    counts go to the summary's ``detail`` as ``actions`` and ``quarantine_rows``."""

    actions: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)
    rows_quarantined: int = 0
    detail: Mapping[str, Any] = field(default_factory=dict)

    def write(self, conn: Connection, import_id: str) -> dict[str, int]:
        """Write the actions and quarantined rows; their counts."""
        actions, bad = self.actions, self.quarantine
        return {
            "actions": record_corporate_actions(conn, actions) if len(actions) else 0,
            "quarantine_rows": quarantine(conn, bad, import_id) if len(bad) else 0,
        }


def record_import(conn: Connection, summary: ImportSummary) -> str:
    """Create or update the summary row of an import."""
    check_name(summary.import_id, field="import_id")
    if summary.status not in IMPORT_STATUSES:
        raise DataError(
            f"bad import status {summary.status!r}: {IMPORT_STATUSES}",
            field="status",
            rule="status",
        )
    row = asdict(summary)
    row["symbols"] = list(summary.symbols)
    row["detail"] = json_safe(summary.detail)
    row["started_at"] = summary.started_at or utc_now()
    upsert(conn, TABLES["imports"], [row], ["import_id"])
    return summary.import_id


def ensure_import(conn: Connection, import_id: str) -> None:
    """Create a ``running`` import row unless one exists (quarantine rows reference it)."""
    check_name(import_id, field="import_id")
    row = {"import_id": import_id, "status": "running", "started_at": utc_now()}
    upsert(conn, TABLES["imports"], [row], ["import_id"], update=False)


def quarantine(conn: Connection, rows_df: pd.DataFrame, import_id: str) -> int:
    """Store rejected rows of an import; rows already stored are skipped. New rows stored."""
    rows = frame_records(rows_df, QUARANTINE_COLS, what="quarantine frame")
    ensure_import(conn, import_id)
    for row in rows:
        row["import_id"] = import_id
        row["file"] = row["file"] or ""
        row["field"] = row["field"] or ""
    keys = ["import_id", "file", "row", "rule", "field"]
    return upsert(conn, TABLES["quarantine"], rows, keys, update=False)


def import_bars(
    conn: Connection,
    frames: Iterable[pd.DataFrame],
    timeframe: str,
    summary: ImportSummary,
    on_conflict: OnConflict = "reject",
    extras: ImportExtras | None = None,
) -> ImportSummary:
    """Write every batch of ``frames``, the ``extras`` and the summary inside the caller's
    transaction.

    Bars that differ from stored ones follow ``on_conflict``; under ``reject`` every batch
    is still checked (nothing more written) and ``BarConflictError`` names them all."""
    extra = extras or ImportExtras()
    tf = check_timeframe(timeframe)
    policy = check_on_conflict(on_conflict)
    started = summary.started_at or utc_now()
    read = written = 0
    symbols: set[str] = set()
    conflicts = Conflicts.empty()
    for frame in frames:
        batch = bar_batch(frame, tf)
        read += len(batch)
        symbols.update(batch.symbols)
        if policy == "reject" and len(conflicts):
            conflicts += find_conflicts(conn, batch)[1]
            continue
        res = import_batch(conn, batch, policy)
        written += res.written
        conflicts += res.conflicts
    if policy == "reject" and len(conflicts):
        raise BarConflictError(conflicts)
    counts = extra.write(conn, summary.import_id)
    done = replace(
        summary,
        timeframe=tf,
        status="completed",
        rows_read=read,
        rows_written=written,
        rows_quarantined=extra.rows_quarantined,
        symbols=tuple(sorted(symbols)),
        detail={
            **summary.detail,
            **extra.detail,
            "on_conflict": policy,
            "conflicts": len(conflicts),
            **counts,
        },
        started_at=started,
        finished_at=utc_now(),
    )
    record_import(conn, done)
    return done
