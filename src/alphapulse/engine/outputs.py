"""Run outputs: tables built from a RunResult and the per-strategy files on disk."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphapulse.analytics.execution_quality import execution_frame, execution_summary
from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.analytics.metrics import compute_metrics
from alphapulse.analytics.run_robustness import RobustnessInputs, run_robustness
from alphapulse.analytics.trades import closed_positions, round_trips
from alphapulse.core.errors import ConfigError
from alphapulse.engine.loop import RunResult


def _ts(ns: Any) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=True))


def equity_frame(r: RunResult) -> pd.DataFrame:
    """One row per step; the risk stage's per-step measures (``r.extra``, e.g. VaR,
    beta, HHI) follow the core columns."""
    eq = r.equity
    with np.errstate(invalid="ignore", divide="ignore"):
        exposure = np.where(eq > 0, r.gross_exposure / eq, np.nan)
    cols: dict[str, Any] = {
        "timestamp": _ts(r.timestamps),
        "equity": eq,
        "cash": r.cash,
        "exposure": exposure,
        "gross_exposure": r.gross_exposure,
        "net_exposure": r.net_exposure,
    }
    cols.update({k: v for k, v in r.extra.items() if k not in cols and len(v) == len(eq)})
    return pd.DataFrame(cols)


RISK_EVENT_COLUMNS = ["timestamp", "kind", "reason", "symbol", "order_id", "detail"]
HALT_KINDS = ("kill_switch", "error_burst", "strategy_disabled")


def risk_events_frame(r: RunResult) -> pd.DataFrame:
    rows = [(e.ts_ns, e.kind, e.reason, e.symbol, e.order_id, e.detail) for e in r.risk_events]
    df = pd.DataFrame(rows, columns=RISK_EVENT_COLUMNS)
    df["order_id"] = df["order_id"].astype("Int64")
    df["timestamp"] = _ts(df["timestamp"].to_numpy())
    return df


def risk_summary(r: RunResult) -> dict[str, Any]:
    """Risk events counted by kind, the first halt, and mean/max/last of each measure."""
    counts: dict[str, int] = {}
    for e in r.risk_events:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    halts = [e for e in r.risk_events if e.kind in HALT_KINDS]
    first = halts[0] if halts else None
    measures: dict[str, dict[str, Any]] = {}
    for k, v in r.extra.items():
        ok = np.isfinite(v)
        if not ok.any():
            measures[k] = {"mean": None, "max": None, "last": None}
            continue
        measures[k] = {
            "mean": _clean(float(v[ok].mean())),
            "max": _clean(float(v[ok].max())),
            "last": _clean(float(v[ok][-1])),
        }
    return {
        "events": dict(sorted(counts.items())),
        "n_events": len(r.risk_events),
        "first_halt_at": str(_ts([first.ts_ns])[0]) if first else None,
        "first_halt_kind": first.kind if first else None,
        "measures": measures,
    }


ORDER_COLUMNS = [
    "order_id", "created_at", "symbol", "side", "type", "quantity", "notional", "limit_price",
    "stop_price", "tif", "status", "filled_qty", "avg_fill_price", "parent_id", "tag", "reason",
]  # fmt: skip


def orders_frame(r: RunResult) -> pd.DataFrame:
    rows = [
        (
            o.id,
            o.created_ns,
            o.symbol,
            o.side.name.lower(),
            o.type.value,
            o.quantity,
            o.notional,
            o.limit_price,
            o.stop_price,
            o.tif.value,
            o.status.value,
            o.filled_qty,
            o.avg_fill_price if o.filled_qty > 0 else None,
            o.parent_id,
            o.tag,
            o.reason,
        )
        for o in r.orders
    ]
    df = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    df["created_at"] = _ts(df["created_at"].to_numpy())
    return df


FILL_COLUMNS = [
    "order_id", "timestamp", "symbol", "side", "quantity", "price", "fee", "slippage",
    "liquidity",
]  # fmt: skip


def fills_frame(r: RunResult) -> pd.DataFrame:
    rows = [
        (
            f.order_id,
            f.ts_ns,
            f.symbol,
            f.side.name.lower(),
            f.quantity,
            f.price,
            f.fee,
            f.slippage,
            f.liquidity,
        )
        for f in r.fills
    ]
    df = pd.DataFrame(rows, columns=FILL_COLUMNS)
    df["timestamp"] = _ts(df["timestamp"].to_numpy())
    return df


def trades_frame(r: RunResult) -> pd.DataFrame:
    return round_trips(r.fills)


def summary(
    r: RunResult,
    trades: pd.DataFrame | None = None,
    robustness: RobustnessInputs | None = None,
) -> dict[str, Any]:
    eq = equity_frame(r)
    trades = trades if trades is not None else trades_frame(r)
    closed = closed_positions(trades, r.fills)  # positions open at the end are not trades
    equity = pd.Series(eq["equity"].to_numpy(), index=pd.DatetimeIndex(eq["timestamp"]))
    ppy = observed_periods_per_year(pd.DatetimeIndex(eq["timestamp"])) if len(eq) > 1 else 252.0
    m = compute_metrics(
        equity,
        closed,
        periods_per_year=ppy,
        turnover_notional=r.traded_notional,
        exposure=pd.Series(eq["gross_exposure"].to_numpy(), index=equity.index),
        initial=r.initial_cash,
    )
    out: dict[str, Any] = {"strategy": r.name, **m}
    out.update(
        initial_cash=r.initial_cash,
        final_equity=float(r.equity[-1]) if len(r.equity) else r.initial_cash,
        total_fees=r.total_fees,
        realized_pnl=r.total_realized,
        n_orders=len(r.orders),
        n_fills=len(r.fills),
        periods_per_year=ppy,
        start=str(eq["timestamp"].iloc[0]) if len(eq) else None,
        end=str(eq["timestamp"].iloc[-1]) if len(eq) else None,
    )
    out = {k: _clean(v) for k, v in out.items()}
    out["risk"] = risk_summary(r)
    out["robustness"] = run_robustness(r.equity, ppy, closed, r.fills, r.initial_cash, robustness)
    if r.executions:  # execution algorithms ran: quality of their parent orders
        out["execution"] = execution_summary(execution_frame(r.executions, r.fills))
    return _strict(out)


def _strict(v: Any) -> Any:
    """``v`` with every non-finite number, at any depth, as None (strict JSON)."""
    if isinstance(v, Mapping):
        return {k: _strict(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_strict(x) for x in v]
    return _clean(v)


def _clean(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


def out_folder(path: Path) -> Path:
    """``path`` as a folder to write into (created with its parents): a ``ConfigError``
    naming it when it cannot be (a file, no permission, inside the data folder, where
    its CSVs would be read as data), not a traceback."""
    from alphapulse.data.catalog import root_holding

    root = root_holding(path)
    if root is not None:
        raise ConfigError(f"output folder {path}: inside the data folder {root}")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output folder {path}: a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"output folder {path}: {exc.strerror or exc}") from None
    return path


CORE_FILES = ("summary", "trades", "orders", "fills", "equity", "risk_events", "executions")


def write_outputs(
    r: RunResult,
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame] | None = None,
    robustness: RobustnessInputs | None = None,
) -> dict[str, Any]:
    """Write summary.json, trades.csv, orders.csv, fills.csv, equity.csv and
    risk_events.csv into out_dir, plus ``<stem>.csv`` for each of the strategy's extra
    ``tables`` (``Strategy.strategy_outputs``, e.g. the ML strategy's drift_events)."""
    for stem in tables or {}:
        if stem in CORE_FILES or not stem.replace("_", "").isalnum():
            raise ValueError(f"strategy output {stem!r}: not a valid extra table name")
    out_folder(out_dir)
    trades = trades_frame(r)
    s = summary(r, trades, robustness)
    (out_dir / "summary.json").write_text(
        json.dumps(s, indent=2, sort_keys=False, allow_nan=False) + "\n"
    )
    trades.to_csv(out_dir / "trades.csv", index=False)
    orders_frame(r).to_csv(out_dir / "orders.csv", index=False)
    fills_frame(r).to_csv(out_dir / "fills.csv", index=False)
    equity_frame(r).to_csv(out_dir / "equity.csv", index=False)
    risk_events_frame(r).to_csv(out_dir / "risk_events.csv", index=False)
    if r.executions:
        execution_frame(r.executions, r.fills).to_csv(out_dir / "executions.csv", index=False)
    for stem, frame in (tables or {}).items():
        frame.to_csv(out_dir / f"{stem}.csv", index=False)
    return s
