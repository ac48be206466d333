"""Anomaly records: severity from the scores, the triggering values and a message."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.anomaly.config import AnomalyConfig, Severity, Thresholds
from alphapulse.anomaly.kernels import TYPES

FloatArray = npt.NDArray[np.float64]

#: The two values each type reports, by name.
VALUE_NAMES: dict[str, tuple[str, str]] = {
    "price_jump": ("return", "sigma"),
    "gap": ("gap", "sigma"),
    "volume_spike": ("volume", "baseline"),
    "stale_price": ("price", "active_frac"),
    "bad_tick": ("print", "close"),
    "divergence": ("return", "market_return"),
    "pattern": ("return_z", "volume_z"),
    "market_move": ("market_return", "sigma"),
}
MARKET = "market_move"  # a market-wide anomaly: symbol ''

COLUMNS = ["timestamp", "symbol", "type", "severity", "score", "message", "values"]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One detected anomaly (``ts_ns``: the bar at which it became known)."""

    ts_ns: int
    symbol: str
    type: str
    severity: Severity
    score: float
    message: str
    values: dict[str, float] = field(default_factory=dict)


def thresholds(cfg: AnomalyConfig) -> FloatArray:
    """[len(TYPES), 4] severity levels, rows in ``TYPES`` order."""
    per: dict[str, Thresholds] = {
        "price_jump": cfg.price,
        "gap": cfg.gap,
        "volume_spike": cfg.volume,
        "stale_price": cfg.stale,
        "bad_tick": cfg.bad_tick,
        "divergence": cfg.divergence,
        "pattern": cfg.pattern.thresholds,
    }
    return np.array([per[t].levels() for t in TYPES])


def severities(score: FloatArray, levels: FloatArray) -> npt.NDArray[np.int8]:
    """Severity codes of ``score`` [..., len(TYPES), n] (0 where below LOW or NaN)."""
    lv = levels.reshape((len(TYPES), 1, 4))
    with np.errstate(invalid="ignore"):
        return (score[..., None] >= lv).sum(axis=-1).astype(np.int8)


def message(kind: str, symbol: str, score: float, a: float, b: float) -> str:
    """A readable line for one anomaly."""
    if kind == "price_jump":
        return f"{symbol} moved {a:+.2%}, {score:.1f} sigma of its trailing volatility {b:.2%}"
    if kind == "gap":
        return f"{symbol} opened {a:+.2%} from the prior close, {score:.1f} sigma (vol {b:.2%})"
    if kind == "volume_spike":
        return f"{symbol} volume {a:.6g} is {a / max(b, 1.0):.1f}x its baseline (z {score:.1f})"
    if kind == "stale_price":
        return f"{symbol} price unchanged at {a:.6g} for {score:.0f} bars while {b:.0%} traded"
    if kind == "bad_tick":
        return (
            f"{symbol} print {a:.6g} ({score:.1f} sigma) reverted to {b:.6g} on the next bar: "
            "feed error, confirmed one bar late"
        )
    if kind == "divergence":
        return f"{symbol} moved {a:+.2%} against the market {b:+.2%}, {score:.1f} sigma residual"
    if kind == MARKET:
        return f"market moved {a:+.2%} (median of the symbols), {score:.1f} sigma (vol {b:.2%})"
    return f"{symbol} multivariate outlier (IsolationForest score {score:.3f}, ret z {a:+.1f})"


def make(ts_ns: int, symbol: str, kind: str, sev: int, score: float, a: float, b: float) -> Anomaly:
    names = VALUE_NAMES[kind]
    return Anomaly(
        int(ts_ns),
        symbol,
        kind,
        Severity(sev),
        float(score),
        message(kind, symbol, score, a, b),
        {names[0]: float(a), names[1]: float(b)},
    )


def to_frame(rows: list[Anomaly]) -> pd.DataFrame:
    """Records as a frame (``COLUMNS``; UTC timestamps, severity names), time-sorted."""
    df = pd.DataFrame(
        [
            (
                r.ts_ns,
                r.symbol,
                r.type,
                r.severity.name,
                r.score,
                r.message,
                json.dumps(r.values, sort_keys=True),
            )
            for r in rows
        ],
        columns=COLUMNS,
    )
    df["timestamp"] = pd.to_datetime(df["timestamp"].astype("int64"), unit="ns", utc=True)
    return df.sort_values(["timestamp", "symbol", "type"], kind="stable").reset_index(drop=True)


def from_arrays(
    ts: npt.NDArray[np.int64],
    symbols: tuple[str, ...],
    score: FloatArray,
    v1: FloatArray,
    v2: FloatArray,
    levels: FloatArray,
    min_severity: int,
) -> list[Anomaly]:
    """Records of every cell of [T, len(TYPES), n] at or above ``min_severity``."""
    sev = severities(score, levels)
    t_idx, k_idx, s_idx = np.nonzero(sev >= max(min_severity, 1))
    return [
        make(ts[t], symbols[s], TYPES[k], sev[t, k, s], score[t, k, s], v1[t, k, s], v2[t, k, s])
        for t, k, s in zip(t_idx.tolist(), k_idx.tolist(), s_idx.tolist(), strict=True)
    ]


def market_rows(
    ts: npt.NDArray[np.int64], mk: FloatArray, levels: tuple[float, ...], min_severity: int
) -> list[Anomaly]:
    """Market-wide moves (``mk`` [T, 3]: |z|, return, sigma) at or above ``min_severity``."""
    with np.errstate(invalid="ignore"):
        sev = (mk[:, :1] >= np.asarray(levels)[None, :]).sum(axis=1)
    return [
        make(ts[t], "", MARKET, int(sev[t]), mk[t, 0], mk[t, 1], mk[t, 2])
        for t in np.flatnonzero(sev >= max(min_severity, 1)).tolist()
    ]
