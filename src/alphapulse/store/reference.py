"""Reference data: instruments and corporate actions."""

from __future__ import annotations

from typing import Final

import pandas as pd
from sqlalchemy import Connection, select

from alphapulse.core.errors import DataError
from alphapulse.store.frames import Col, frame_records
from alphapulse.store.runs import upsert
from alphapulse.store.schema import TABLES

ACTION_COLS: Final = (
    Col("symbol", "symbol", required=True),
    Col("ex_date", "date", required=True, sources=("ex_date", "date", "timestamp")),
    Col("action", "key", required=True, sources=("action", "type", "kind")),
    Col("value", "float", required=True, sources=("value", "ratio", "amount")),
    Col("currency", "str"),
    Col("record_date", "date"),
    Col("pay_date", "date"),
    Col("source", "str"),
    Col("import_id", "key"),
)


def record_corporate_actions(conn: Connection, df: pd.DataFrame) -> int:
    """Upsert actions on (symbol, ex_date, action): a re-delivered action replaces the
    stored one. Splits need ``value`` (new shares per old share) > 0. Rows written."""
    rows = frame_records(df, ACTION_COLS, what="corporate actions frame")
    for i, row in enumerate(rows):
        row["action"] = row["action"].lower()
        if row["action"] == "split" and not row["value"] > 0:
            raise DataError("split ratio must be > 0", field="value", row=i, rule="positive")
    symbols = sorted({r["symbol"] for r in rows})
    instruments = TABLES["instruments"]
    upsert(conn, instruments, [{"symbol": s} for s in symbols], ["symbol"], update=False)
    return upsert(conn, TABLES["corporate_actions"], rows, ["symbol", "ex_date", "action"])


def read_corporate_actions(conn: Connection, symbol: str | None) -> pd.DataFrame:
    """Stored actions (of one symbol, or all), ordered by symbol and ex-date."""
    table = TABLES["corporate_actions"]
    cols = [table.c[c.name] for c in ACTION_COLS]
    query = select(*cols).order_by(table.c.symbol, table.c.ex_date, table.c.action)
    if symbol is not None:
        query = query.where(table.c.symbol == symbol)
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in ACTION_COLS])
