"""A run read back from the database (``alphapulse backtest`` records every run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.analytics.report.loader import RunData
from alphapulse.core.errors import DataError
from alphapulse.store import Store

_RENAMES = {
    "fills": {"ts": "timestamp"},
    "trades": {"entry_ts": "entry_time", "exit_ts": "exit_time"},
    "risk_events": {"ts": "timestamp"},
}


def _utc(ns: pd.Series) -> pd.Series:
    return pd.Series(pd.to_datetime(ns.to_numpy(dtype=np.int64), unit="ns", utc=True))


def load_stored_run(store: Store, run_id: str) -> RunData:
    """The run ``run_id``: summary from its metrics, equity from its snapshots."""
    row = store.read_run(run_id)
    if row is None:
        raise DataError(f"run {run_id!r}: not a run folder and not a recorded run id")
    summary = row.get("metrics") or {}
    snaps = store.read_table("portfolio_snapshots", run_id)
    if not len(snaps):
        raise DataError(f"run {run_id!r}: no portfolio snapshots recorded", field="run_id")
    equity = pd.DataFrame(
        {
            "equity": snaps["equity"].to_numpy(dtype=float),
            "exposure": (snaps["gross_exposure"].astype(float) / snaps["equity"]).to_numpy(),
        },
        index=pd.DatetimeIndex(_utc(snaps["ts"]), name="timestamp"),
    )
    tables: dict[str, pd.DataFrame] = {}
    for name, renames in _RENAMES.items():
        frame = store.read_table(name, run_id).rename(columns=renames)
        for col in renames.values():
            frame[col] = _utc(frame[col]) if len(frame) else pd.Series(dtype="datetime64[ns, UTC]")
        tables[name] = frame
    name = str(summary.get("strategy") or row.get("name") or run_id)
    return RunData(name=name, path=Path(run_id), summary=summary, equity=equity, tables=tables)
