"""Execution quality per parent order and in aggregate.

Costs are cash amounts, positive when they hurt (``s`` = +1 buy / -1 sell, ``a`` the
arrival (decision) price, per fill ``q`` units at ``p`` with reference price ``r``
before slippage, ``Q`` the parent's quantity):

- fees: commissions; spread: the taker's half spread ``h x r x q`` (capped at the
  fill's slippage; maker fills pay none); impact: the rest of the slippage;
- timing: ``s (r - a) q``, the drift between the decision and each fill;
- opportunity: ``s (end - a) (Q - filled)``, the unfilled rest valued at the end price;
- implementation shortfall = the sum of the five (Perold), in bps of ``a x Q``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphapulse.model.orders import Fill

COLUMNS = [
    "parent_id", "symbol", "side", "algo", "urgency", "status", "reason", "decision_time",
    "end_time", "duration_s", "quantity", "filled", "fill_ratio", "n_children",
    "arrival_price", "avg_price", "end_price", "interval_vwap", "slippage_bps",
    "vwap_slippage_bps", "participation", "fees", "spread_cost", "impact_cost",
    "timing_cost", "opportunity_cost", "shortfall", "shortfall_bps",
]  # fmt: skip
COSTS = ("fees", "spread_cost", "impact_cost", "timing_cost", "opportunity_cost", "shortfall")


def _fill_costs(fills: Sequence[Fill], parent_of: dict[int, int], half: float) -> pd.DataFrame:
    """Per parent: fees, spread, impact and timing legs (timing still as ``s r q``)."""
    rows = []
    for f in fills:
        pid = parent_of.get(f.order_id)
        if pid is None:
            continue
        s, q = int(f.side), f.quantity
        ref = f.price - f.slippage / (s * q)
        spread = 0.0 if f.liquidity == "maker" else min(max(f.slippage, 0.0), half * ref * q)
        rows.append((pid, f.fee, spread, f.slippage - spread, s * ref * q, q))
    df = pd.DataFrame(rows, columns=["parent_id", "fees", "spread", "impact", "sref", "q"])
    return df.groupby("parent_id").sum()


def execution_frame(records: Sequence[dict[str, Any]], fills: Sequence[Fill]) -> pd.DataFrame:
    """One row per parent order (``ParentOrder.record`` dicts) with its quality figures."""
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    rec = pd.DataFrame(list(records))
    parent_of = {int(c): int(r["parent_id"]) for r in records for c in r["children"]}
    half = 0.5 * float(rec["spread_bps"].iloc[0]) * 1e-4 if "spread_bps" in rec else 0.0
    legs = _fill_costs(fills, parent_of, half).reindex(rec["parent_id"]).fillna(0.0)
    s = rec["side"].to_numpy(dtype=float)
    a = rec["arrival_price"].to_numpy(dtype=float)
    qty, filled = rec["quantity"].to_numpy(dtype=float), rec["filled"].to_numpy(dtype=float)
    avg, vwap = rec["avg_price"].to_numpy(dtype=float), rec["interval_vwap"].to_numpy(dtype=float)
    end = rec["end_price"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        timing = legs["sref"].to_numpy() - s * a * legs["q"].to_numpy()
        opportunity = np.nan_to_num(s * (end - a) * (qty - filled))
        out = pd.DataFrame(
            {
                "parent_id": rec["parent_id"],
                "symbol": rec["symbol"],
                "side": np.where(s > 0, "buy", "sell"),
                "algo": rec["algo"],
                "urgency": rec["urgency"],
                "status": rec["status"],
                "reason": rec["reason"],
                "decision_time": pd.to_datetime(rec["decision_ns"], unit="ns", utc=True),
                "end_time": pd.to_datetime(rec["end_ns"], unit="ns", utc=True),
                "duration_s": (rec["end_ns"] - rec["decision_ns"]).to_numpy() / 1e9,
                "quantity": qty,
                "filled": filled,
                "fill_ratio": filled / qty,
                "n_children": rec["children"].map(len),
                "arrival_price": a,
                "avg_price": avg,
                "end_price": end,
                "interval_vwap": vwap,
                "slippage_bps": s * (avg - a) / a * 1e4,
                "vwap_slippage_bps": s * (avg - vwap) / vwap * 1e4,
                "participation": filled / rec["interval_volume"].to_numpy(dtype=float),
                "fees": legs["fees"].to_numpy(),
                "spread_cost": legs["spread"].to_numpy(),
                "impact_cost": legs["impact"].to_numpy(),
                "timing_cost": timing,
                "opportunity_cost": opportunity,
            }
        )
        out["shortfall"] = out[list(COSTS[:-1])].sum(axis=1)
        out["shortfall_bps"] = out["shortfall"] / (a * qty) * 1e4
    out["participation"] = out["participation"].replace([np.inf, -np.inf], np.nan)
    return out.reset_index(drop=True)[COLUMNS]


def _aggregate(df: pd.DataFrame) -> dict[str, Any]:
    decided = float((df["arrival_price"] * df["quantity"]).sum())
    done = df["arrival_price"] * df["filled"]
    done_total = float(done.sum())

    def wmean(col: str, w: pd.Series) -> float | None:
        ok = df[col].notna() & (w > 0)
        tot = float(w[ok].sum())
        return float((df.loc[ok, col] * w[ok]).sum() / tot) if tot > 0 else None

    out: dict[str, Any] = {
        "n_parents": len(df),
        "decided_notional": decided,
        "fill_ratio": done_total / decided if decided > 0 else None,
        "slippage_bps": wmean("slippage_bps", done),
        "vwap_slippage_bps": wmean("vwap_slippage_bps", done),
        "participation": wmean("participation", done),
        "mean_duration_s": float(df["duration_s"].mean()),
    }
    for c in COSTS:
        total = float(df[c].sum())
        out[c] = total
        out[f"{c}_bps"] = total / decided * 1e4 if decided > 0 else None
    return out


def execution_summary(df: pd.DataFrame) -> dict[str, Any]:
    """Aggregates over every parent and per algorithm (notional-weighted bps)."""
    if df.empty:
        return {"n_parents": 0}
    out = _aggregate(df)
    out["by_algo"] = {str(k): _aggregate(g) for k, g in df.groupby("algo", sort=True)}
    return _finite(out)


def _finite(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
