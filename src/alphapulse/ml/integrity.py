"""Out-of-sample guard for fitted models (registry models, and later RL policies and the
meta-models of fusion).

A model knows every bar up to the last bar whose label it learnt (``max_label_end``).
A decision at bar t is *in sample* when t is before that bar: the label window that
starts at t overlaps the model's training labels, so the model has seen what follows t.
``TrainingSpan.guard`` refuses such a bar (``InSampleError``, a ConfigError naming the
model and both times) unless the caller allows it, in which case the bar is only marked
(``in_sample``) and results are reported in and out of sample separately
(``split_metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import ConfigError

_DAY_NS = 86_400 * 1_000_000_000


class InSampleError(ConfigError):
    """A decision at a bar the model was trained on (its label windows overlap)."""


def _ns(value: Any, end_of_day: bool) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    ns = int(ts.value)
    if end_of_day and ts == ts.normalize() and not isinstance(value, int):
        ns += _DAY_NS - 1  # a date: its whole day (conservative)
    return ns


@dataclass(frozen=True)
class TrainingSpan:
    """What a fitted model has seen: training rows from ``start_ns``, labels realised by
    ``known_ns`` (UTC ns)."""

    what: str  # e.g. "registry model 'x' version 3"
    start_ns: int
    known_ns: int

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], what: str) -> TrainingSpan | None:
        """From registry metadata: ``train_start_ns`` / ``max_label_end_ns`` when
        recorded, else the ``train_start`` / ``max_label_end`` dates (a date counts as
        its whole day). None when the metadata has neither."""
        known = meta.get("max_label_end_ns", meta.get("max_label_end", meta.get("train_end")))
        if known is None:
            return None
        start = meta.get("train_start_ns", meta.get("train_start"))
        start_ns = _ns(start, False) if start is not None else np.iinfo(np.int64).min
        return cls(what, start_ns, _ns(known, True))

    def metadata(self) -> dict[str, int]:
        return {"train_start_ns": self.start_ns, "max_label_end_ns": self.known_ns}

    def in_sample(self, ts_ns: int) -> bool:
        """True when a decision at ``ts_ns`` is before the model's last known label."""
        return ts_ns < self.known_ns

    def guard(self, ts_ns: int, allow: bool) -> bool:
        """``in_sample(ts_ns)``; raises ``InSampleError`` for an in-sample bar unless
        ``allow``."""
        inside = self.in_sample(ts_ns)
        if inside and not allow:
            raise InSampleError(
                f"{self.what} was trained on labels up to {_iso(self.known_ns)}: a decision "
                f"at {_iso(ts_ns)} is in sample (start the run after it, or set "
                "allow_in_sample: true to mark and report such bars separately)"
            )
        return inside


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").isoformat()


def split_metrics(
    equity: pd.Series, in_sample: npt.NDArray[np.bool_], periods_per_year: float | None = None
) -> pd.DataFrame:
    """Metrics (``analytics.metrics``) of the in-sample and the out-of-sample bars of an
    equity curve, one row each (``sample``, ``start``, ``end``, ``bars`` and the metrics);
    a part without two bars is left out."""
    from alphapulse.analytics.metrics import compute_metrics

    no_trades = pd.DataFrame({"pnl": pd.Series(dtype=float)})
    rows = []
    for name, mask in (("in_sample", in_sample), ("out_of_sample", ~in_sample)):
        part = equity[mask]
        if len(part) < 2:
            continue
        m = compute_metrics(part, no_trades, periods_per_year=periods_per_year)
        rows.append(
            {
                "sample": name,
                "start": part.index[0],
                "end": part.index[-1],
                "bars": len(part),
                **{
                    k: m[k]
                    for k in ("total_return", "cagr", "volatility", "sharpe", "max_drawdown")
                },
            }
        )
    return pd.DataFrame(rows)
