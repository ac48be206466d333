"""Training on realised labels only.

A model trained at bar t may use the row (s, symbol) only when its label is already
known at t: ``label_end[s, i] <= t - embargo``. Rows whose label window reaches past
that are purged, so a walk-forward backtest and a live run train on exactly the data a
trader would have had. ``training_rows`` applies the rule; ``fit_at`` trains a model
at bar t from features and labels that were themselves computed from rows ``[0, t]``.

Sequence models (``ModelSpec.window``) learn from the same rows, each given as the
window of its symbol's features over bars ``s - window + 1 .. s`` (``window_rows``):
nothing after the row's own bar, so nothing after t.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alphapulse.config import DataConfig, format_validation_error
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.features import FeatureSetConfig
from alphapulse.ml.models.base import Model
from alphapulse.ml.models.spec import ModelSpec, build_model
from alphapulse.ml.models.windows import window_rows
from alphapulse.ml.registry import ModelRegistry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class LabelSpec(BaseModel):
    """What the model learns: the forward return over ``horizon`` bars (entered at the
    next open by default, what an order decided at the close gets) or the triple-barrier
    outcome; as a sign (-1/+1; triple barrier -1/0/+1) for classifiers or as a value for
    regressors; ``cross_sectional`` subtracts each bar's mean first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["forward_return", "triple_barrier"] = "forward_return"
    horizon: int = Field(5, ge=1)
    entry: Literal["close", "next_open"] = "next_open"  # forward_return only
    up_mult: float = Field(2.0, gt=0)  # triple_barrier: barriers in sigmas
    down_mult: float = Field(2.0, gt=0)
    vol_window: int = Field(20, ge=2)
    target: Literal["auto", "sign", "value"] = "auto"  # auto: sign for classifiers
    cross_sectional: bool = False
    uniqueness_weights: bool = False  # weight rows by label uniqueness (sample_weights)


NEVER = np.iinfo(np.int64).max


def make_labels(panel: Panel, spec: LabelSpec) -> tuple[FloatArray, IntArray]:
    """Labels [T, N] and the row at which each is realised [T, N] (``NEVER`` where
    there is no label): ``alphapulse.ml.labels``."""
    from alphapulse.ml import labels

    if spec.kind == "forward_return":
        y, end = labels.forward_returns(panel, spec.horizon, spec.entry)
    else:
        y, _, end = labels.triple_barrier(
            panel, spec.horizon, spec.up_mult, spec.down_mult, spec.vol_window
        )
    return y, np.where(end < 0, NEVER, end).astype(np.int64)


def target_values(y: FloatArray, spec: LabelSpec, kind: str) -> FloatArray:
    """The model's target from the labels: signs for classifiers (``auto``/``sign``),
    the values otherwise; optional cross-sectional demeaning first."""
    out = np.array(y, dtype=np.float64)
    if spec.cross_sectional:
        ok = np.isfinite(out)
        count = np.maximum(ok.sum(axis=1, keepdims=True), 1)
        out = out - np.where(ok, out, 0.0).sum(axis=1, keepdims=True) / count
    sign = spec.target == "sign" or (spec.target == "auto" and kind == "classifier")
    if sign and spec.kind == "forward_return":
        out = np.where(np.isfinite(out), np.where(out > 0, 1.0, -1.0), np.nan)
    return out


def training_rows(
    label_end: IntArray, t: int, *, train_window: int | None = None, embargo: int = 0
) -> npt.NDArray[np.bool_]:
    """[T, N] mask of the rows a model trained at bar t may learn from: label realised by
    ``t - embargo`` and the row inside the trailing ``train_window`` bars (None: all)."""
    n = label_end.shape[0]
    mask = label_end <= t - embargo
    mask[min(t + 1, n) :] = False
    if train_window is not None:
        mask[: max(t + 1 - train_window, 0)] = False
    return np.asarray(mask)


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model and what it was trained on (bars are row indices)."""

    model: Model
    t: int  # the bar at which it was trained
    n_rows: int
    first_row: int
    last_row: int
    max_label_end: int
    sample: FloatArray  # up to ``max_sample`` training feature rows, for drift checks


def fit_at(
    features: FloatArray,
    y: FloatArray,
    label_end: IntArray,
    t: int,
    spec: ModelSpec,
    label: LabelSpec,
    *,
    train_window: int | None = None,
    embargo: int = 0,
    min_rows: int = 1,
    max_sample: int = 20_000,
) -> TrainedModel | None:
    """Fit ``spec`` on the realised rows at bar t (features [T, N, F], labels [T, N]);
    None when fewer than ``min_rows`` usable rows (finite target and features, as
    ``ml.dataset.make_dataset``). With ``spec.window`` each row is the window of
    features ending at its bar (``window_rows``; the row's own features must be finite,
    earlier steps may be NaN)."""
    model = build_model(spec)
    target = target_values(y, label, model.kind)
    mask = training_rows(label_end, t, train_window=train_window, embargo=embargo)
    mask &= np.isfinite(target[: mask.shape[0]]) & np.isfinite(features).all(axis=2)
    if label.kind == "forward_return" and model.kind == "classifier":
        mask &= target != 0
    rows, cols = np.nonzero(mask)
    if rows.size < min_rows:
        return None
    X = window_rows(features, rows, cols, spec.window)
    w = None
    if label.uniqueness_weights:
        from alphapulse.ml.labels import sample_weights

        ends = np.where(label_end == NEVER, -1, label_end)
        w = np.asarray(sample_weights(ends), dtype=np.float64)[rows, cols]
    model.fit(X, target[rows, cols], sample_weight=w)
    step = max(1, -(-rows.size // max_sample))
    return TrainedModel(
        model,
        t,
        int(rows.size),
        int(rows.min()),
        int(rows.max()),
        int(label_end[rows, cols].max()),
        features[rows[::step], cols[::step]],  # the rows' own features (2-D)
    )


class RegistryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str | None = None  # default: sqlite under ``root``
    root: str | None = None  # default: $ALPHAPULSE_MLRUNS or ./mlruns


class TrainConfig(BaseModel):
    """``alphapulse train`` configuration: one model on one window, registered."""

    model_config = ConfigDict(extra="forbid")

    name: str  # registered model name
    data: DataConfig
    features: FeatureSetConfig | str = "default"  # inline, a YAML path, or "default"
    benchmark: str | None = None
    label: LabelSpec = Field(default_factory=LabelSpec)
    model: ModelSpec
    train_start: str | None = None  # first row (default: the data's first bar)
    train_end: str  # last bar; only labels realised by then are used
    test_end: str | None = None  # holdout (train_end, test_end] for metrics; None: none
    registry: RegistryConfig = Field(default_factory=RegistryConfig)


def load_train_config(path: str | Path) -> TrainConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        return TrainConfig.model_validate(yaml.safe_load(p.read_text()))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(p))) from None


def feature_set(spec: FeatureSetConfig | str) -> FeatureSetConfig:
    """An inline set, ``"default"``, or a YAML file's."""
    from alphapulse.features import default_feature_set, load_feature_set

    if isinstance(spec, FeatureSetConfig):
        return spec
    return default_feature_set() if spec == "default" else load_feature_set(Path(spec))


def _bar(idx: pd.DatetimeIndex, when: str, first: bool = False) -> int:
    """The last bar at or before ``when`` (a date means its whole day, UTC), or with
    ``first`` the first bar at or after it."""
    ts = pd.Timestamp(when, tz="UTC")
    ns = idx.as_unit("ns").asi8
    if first:
        return int(np.searchsorted(ns, ts.value, side="left"))
    if ts == ts.normalize():
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return int(np.searchsorted(ns, ts.value, side="right")) - 1


def evaluate(
    model: Model,
    features: FloatArray,
    target: FloatArray,
    ret: FloatArray,
    rows: BoolArray,
    window: int | None = None,
) -> dict[str, float]:
    """Metrics of ``model`` on the ``rows`` [T, N] of features [T, N, F] (windows of
    ``window`` bars for sequence models): hit_rate (side of the prediction vs sign of
    the raw label ``ret``), ic (Spearman per bar, averaged) and, for classifiers,
    accuracy and the Brier score of P(up) (-1/+1 targets)."""
    from alphapulse.ml.drift import brier, hit_rate
    from alphapulse.ml.report import cross_sectional_ic

    ti, si = np.nonzero(rows)
    if ti.size == 0:
        return {}
    X, y = window_rows(features, ti, si, window), target[ti, si]
    pred = model.predict_with_uncertainty(X)
    grid = np.full(rows.shape, np.nan)
    grid[ti, si] = pred.mean
    ic = cross_sectional_ic(grid, np.where(rows, ret, np.nan))
    out = {
        "rows": float(ti.size),
        "hit_rate": hit_rate(pred.mean, ret[ti, si]),
        "ic": float(np.nanmean(ic)) if np.isfinite(ic).any() else float("nan"),
    }
    if model.kind == "classifier":
        out["accuracy"] = float(np.mean(model.predict(X) == y))
        if set(np.unique(y)) <= {-1.0, 1.0}:
            out["brier"] = brier((pred.mean + 1.0) / 2.0, (y > 0).astype(np.float64))
    return out


def run_training(
    cfg: TrainConfig, panel: Panel | None = None, registry: ModelRegistry | None = None
) -> dict[str, Any]:
    """Train ``cfg.model`` on the window, evaluate it on the holdout, register it;
    returns name, version, metrics and the metadata."""
    from alphapulse.engine.recording import data_hash
    from alphapulse.features import compute_features

    if panel is None:
        d = cfg.data
        end = cfg.test_end or cfg.train_end
        root = Path(d.root) if d.root else None
        from alphapulse.data.catalog import load_panel

        panel = load_panel(d.source, d.symbols, start=d.start, end=end, root=root)
    fs = feature_set(cfg.features)
    fm = compute_features(panel, fs, cfg.benchmark)
    y, label_end = make_labels(panel, cfg.label)
    idx = panel.index()
    t_end = _bar(idx, cfg.train_end)
    t0 = 0 if cfg.train_start is None else _bar(idx, cfg.train_start, first=True)
    fitted = fit_at(
        fm.values, y, label_end, t_end, cfg.model, cfg.label, train_window=t_end + 1 - t0
    )
    if fitted is None:
        raise ConfigError("no training rows with realised labels in the window")
    model = fitted.model
    target = target_values(y, cfg.label, model.kind)
    ok = np.isfinite(fm.values).all(axis=2) & np.isfinite(target)
    metrics: dict[str, float] = {}
    realised_by_end = label_end < len(idx)
    after = np.arange(len(idx))[:, None] > fitted.max_label_end
    window = training_rows(label_end, t_end, train_window=t_end + 1 - t0)
    for prefix, rows in (("train", window & ok), ("test", ok & after & realised_by_end)):
        m = evaluate(model, fm.values, target, y, rows, cfg.model.window)
        metrics.update({f"{prefix}_{k}": v for k, v in m.items()})
    params = {
        "model": cfg.model.model_dump(mode="json"),
        "label": cfg.label.model_dump(mode="json"),
        "symbols": list(panel.symbols),
        "benchmark": cfg.benchmark,
    }
    meta = {
        "feature_set": fs.name,
        "feature_set_version": fs.version,
        "feature_config": fs.model_dump(mode="json"),  # the definition (MLStrategy.registry)
        "params": params,
        "train_start": str(idx[fitted.first_row].date()),
        "train_end": str(idx[t_end].date()),
        "data_hash": data_hash(panel),
        "metrics": {k: v for k, v in metrics.items() if np.isfinite(v)},
        "code_version": _code_version(),
        "train_rows": fitted.n_rows,
        "max_label_end": str(idx[fitted.max_label_end].date()),
    }
    reg = registry or ModelRegistry(cfg.registry.tracking_uri, root=cfg.registry.root)
    version = reg.register(model, cfg.name, meta)
    return {"name": cfg.name, "version": version, "metrics": metrics, "metadata": meta}


def _code_version() -> str:
    import alphapulse

    return f"alphapulse {alphapulse.__version__}"
