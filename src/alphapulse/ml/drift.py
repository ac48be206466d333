"""Drift monitoring: feature drift (PSI, two-sample KS) between the training window and
a recent window, and prediction quality (hit rate, Brier score, reliability) on the
predictions whose labels have been realised. Crossing a threshold gives a DriftEvent.

PSI = sum_b (a_b - e_b) ln(a_b / e_b) over ``bins`` quantile bins of the training
values (e = training shares, a = recent shares, both floored at 1e-4). Rules of thumb:
< 0.1 stable, 0.1-0.25 moderate, > 0.25 large shift. KS alerts on the statistic (the
largest gap between the two empirical CDFs), not on its p-value: with tens of thousands
of rows every tiny difference is "significant".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

FloatArray = npt.NDArray[np.float64]
_FLOOR = 1e-4
DRIFT_EVENT_COLUMNS = ["timestamp", "kind", "name", "value", "threshold", "detail"]


class DriftConfig(BaseModel):
    """When to check and what counts as drift (``None`` turns a check off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    every: int | None = Field(None, ge=1)  # bars between checks; None: at each retrain
    window: int = Field(63, ge=5)  # recent bars compared with the training window
    bins: int = Field(10, ge=2)
    psi: float | None = Field(0.25, gt=0)
    ks: float | None = Field(0.15, gt=0, le=1)
    min_hit_rate: float | None = Field(0.45, ge=0, le=1)
    max_brier: float | None = Field(0.26, gt=0)
    min_samples: int = Field(50, ge=1)
    max_rows: int = Field(20_000, ge=100)  # rows sampled per window for PSI / KS


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """A drift alert: ``kind`` is feature_psi, feature_ks, hit_rate or brier."""

    ts_ns: int
    kind: str
    name: str
    value: float
    threshold: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    name: str
    psi: float
    ks: float
    ks_pvalue: float


def _finite(x: FloatArray) -> FloatArray:
    x = np.asarray(x, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def psi(expected: FloatArray, actual: FloatArray, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected`` (NaN ignored)."""
    e, a = _finite(expected), _finite(actual)
    if e.size == 0 or a.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(e, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    top = float(e.max())
    if edges[-1] == top:  # the top bin holds only ``top`` (e.g. a constant): values
        edges = np.append(edges, np.nextafter(top, np.inf))  # above it get their own bin
    e_share = np.bincount(np.searchsorted(edges, e, side="right"), minlength=edges.size + 1)
    a_share = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    ep = np.maximum(e_share / e.size, _FLOOR)
    ap = np.maximum(a_share / a.size, _FLOOR)
    return float(np.sum((ap - ep) * np.log(ap / ep)))


def ks(expected: FloatArray, actual: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (NaN ignored)."""
    e, a = _finite(expected), _finite(actual)
    if e.size == 0 or a.size == 0:
        return float("nan"), float("nan")
    from scipy import stats  # loaded on first use (0.6 s off every import)

    res = stats.ks_2samp(e, a, method="asymp")
    return float(res.statistic), float(res.pvalue)


def _sample(x: FloatArray, max_rows: int) -> FloatArray:
    if x.shape[0] <= max_rows:
        return x
    step = int(np.ceil(x.shape[0] / max_rows))
    return x[::step]  # deterministic thinning


def feature_drift(
    train: FloatArray,
    recent: FloatArray,
    names: list[str] | tuple[str, ...],
    bins: int = 10,
    max_rows: int = 20_000,
) -> list[FeatureDrift]:
    """PSI and KS of every feature column: ``train`` and ``recent`` are [rows, F]."""
    tr, rc = _sample(train, max_rows), _sample(recent, max_rows)
    out = []
    for j, name in enumerate(names):
        stat, pvalue = ks(tr[:, j], rc[:, j])
        out.append(FeatureDrift(name, psi(tr[:, j], rc[:, j], bins), stat, pvalue))
    return out


def hit_rate(score: FloatArray, realised: FloatArray, neutral: float = 0.0) -> float:
    """Share of predictions whose side (score vs ``neutral``) matches the realised
    label's sign; ties and NaN on either side are left out."""
    s = np.sign(np.asarray(score, dtype=np.float64) - neutral)
    r = np.sign(np.asarray(realised, dtype=np.float64))
    ok = np.isfinite(s) & np.isfinite(r) & (s != 0) & (r != 0)
    return float(np.mean(s[ok] == r[ok])) if ok.any() else float("nan")


def brier(prob: FloatArray, outcome: FloatArray) -> float:
    """Mean squared error of probabilities against 0/1 outcomes (NaN left out)."""
    p, o = np.asarray(prob, dtype=np.float64), np.asarray(outcome, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(o)
    return float(np.mean((p[ok] - o[ok]) ** 2)) if ok.any() else float("nan")


def reliability(prob: FloatArray, outcome: FloatArray, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per probability bin, the mean forecast, the observed
    frequency and the count (empty bins left out)."""
    p, o = np.asarray(prob, dtype=np.float64), np.asarray(outcome, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(o)
    p, o = np.clip(p[ok], 0.0, 1.0), o[ok]
    b = np.minimum((p * bins).astype(np.int64), bins - 1)
    rows = [
        (
            i / bins,
            (i + 1) / bins,
            float(p[b == i].mean()),
            float(o[b == i].mean()),
            int((b == i).sum()),
        )
        for i in range(bins)
        if (b == i).any()
    ]
    return pd.DataFrame(rows, columns=["lo", "hi", "mean_forecast", "observed", "count"])


class DriftMonitor:
    """Checks drift against a DriftConfig and keeps the alerts it raised."""

    def __init__(self, cfg: DriftConfig | None = None) -> None:
        self.cfg = cfg or DriftConfig()
        self.events: list[DriftEvent] = []
        self.last: list[FeatureDrift] = []

    def check_features(
        self, ts_ns: int, train: FloatArray, recent: FloatArray, names: list[str] | tuple[str, ...]
    ) -> list[DriftEvent]:
        """PSI / KS alerts of ``recent`` [rows, F] against ``train`` [rows, F]; a feature
        with fewer than ``min_samples`` finite values in either window raises none."""
        c = self.cfg
        if not c.enabled or min(train.shape[0], recent.shape[0]) < c.min_samples:
            return []
        self.last = feature_drift(train, recent, names, c.bins, c.max_rows)
        finite = np.minimum(np.isfinite(train).sum(axis=0), np.isfinite(recent).sum(axis=0))
        new: list[DriftEvent] = []
        for d in (d for d, n in zip(self.last, finite, strict=True) if n >= c.min_samples):
            if c.psi is not None and d.psi > c.psi:
                new.append(DriftEvent(ts_ns, "feature_psi", d.name, d.psi, c.psi))
            if c.ks is not None and d.ks > c.ks:
                detail = f"p={d.ks_pvalue:.3g}"
                new.append(DriftEvent(ts_ns, "feature_ks", d.name, d.ks, c.ks, detail))
        self.events.extend(new)
        return new

    def check_predictions(
        self,
        ts_ns: int,
        score: FloatArray,
        realised: FloatArray,
        neutral: float = 0.0,
        prob: FloatArray | None = None,
    ) -> list[DriftEvent]:
        """Hit rate of ``score`` (side vs ``neutral``) and, given probabilities of an up
        move ``prob``, the Brier score against realised labels ``realised``."""
        c = self.cfg
        ok = np.isfinite(score) & np.isfinite(realised)
        n = int(ok.sum())
        if not c.enabled or n < c.min_samples:
            return []
        new: list[DriftEvent] = []
        hr = hit_rate(score[ok], realised[ok], neutral)
        if c.min_hit_rate is not None and np.isfinite(hr) and hr < c.min_hit_rate:
            new.append(DriftEvent(ts_ns, "hit_rate", "predictions", hr, c.min_hit_rate, f"n={n}"))
        if prob is not None and c.max_brier is not None:
            b = brier(prob[ok], (realised[ok] > 0).astype(np.float64))
            if np.isfinite(b) and b > c.max_brier:
                new.append(DriftEvent(ts_ns, "brier", "predictions", b, c.max_brier, f"n={n}"))
        self.events.extend(new)
        return new


def drift_events_frame(events: list[DriftEvent]) -> pd.DataFrame:
    rows = [(e.ts_ns, e.kind, e.name, e.value, e.threshold, e.detail) for e in events]
    df = pd.DataFrame(rows, columns=DRIFT_EVENT_COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"].astype("int64"), unit="ns", utc=True)
    return df


def write_drift_events(events: list[DriftEvent], path: Path) -> None:
    """drift_events.csv: timestamp, kind, name, value, threshold, detail."""
    path.parent.mkdir(parents=True, exist_ok=True)
    drift_events_frame(events).to_csv(path, index=False)
