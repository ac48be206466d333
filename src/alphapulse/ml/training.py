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
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alphapulse.config import DataConfig, format_validation_error, read_yaml
from alphapulse.core.errors import ConfigError
from alphapulse.core.storable import Storable
from alphapulse.core.trust import operator_only
from alphapulse.data.panel import Panel
from alphapulse.data.raw import utc_timestamp
from alphapulse.features import FeatureSetConfig
from alphapulse.ml import tuning as search
from alphapulse.ml.cv import NEVER
from alphapulse.ml.leakage_gate import LeakageConfig, LeakageVerdict, check_accuracy, check_features
from alphapulse.ml.models.base import Model
from alphapulse.ml.models.spec import ModelSpec, build_model
from alphapulse.ml.models.windows import window_rows
from alphapulse.ml.registry import MODEL_NAME_PATTERN, ModelRegistry
from alphapulse.ml.tuning import TuningSpec, tuning_metric

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class LabelSpec(BaseModel):
    """What the model learns: the forward return over ``horizon`` bars (entered at the
    next open by default, what an order decided at the close gets) or the triple-barrier
    outcome; as a sign (-1/0/+1) for classifiers (a zero forward return has no class and
    is left out) or as a value for regressors; ``cross_sectional`` subtracts each bar's
    mean of the labels realised by the fit bar first."""

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
    if sign:  # triple-barrier labels are signs already, until demeaned
        out = np.sign(out)
    return out


def learnable(target: FloatArray, spec: LabelSpec, kind: str) -> BoolArray:
    """Rows with a target to learn or score: finite, and for a classifier on forward
    returns not 0 (an exactly-zero return is neither up nor down)."""
    ok = np.isfinite(target)
    if spec.kind == "forward_return" and kind == "classifier":
        ok &= target != 0
    return np.asarray(ok)


def realised_targets(
    y: FloatArray, label_end: IntArray, t: int, spec: LabelSpec, kind: str
) -> FloatArray:
    """``target_values`` of the labels realised by bar t only (others NaN), so a
    cross-sectional mean never uses a label that was unknown at t."""
    return target_values(np.where(label_end <= t, y, np.nan), spec, kind)


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


def _fit_rows(
    features: FloatArray,
    y: FloatArray,
    label_end: IntArray,
    t: int,
    label: LabelSpec,
    kind: str,
    train_window: int | None,
    embargo: int,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray | None]:
    """The (bar, symbol) rows ``fit_at`` learns from at bar t, the target grid and the
    rows' uniqueness weights (None unless ``label.uniqueness_weights``)."""
    target = realised_targets(y, label_end, t, label, kind)
    mask = training_rows(label_end, t, train_window=train_window, embargo=embargo)
    mask &= learnable(target, label, kind) & np.isfinite(features).all(axis=2)
    rows, cols = np.nonzero(mask)
    w = None
    if label.uniqueness_weights:
        from alphapulse.ml.labels import sample_weights

        ends = np.where(label_end == NEVER, -1, label_end)
        w = np.asarray(sample_weights(ends), dtype=np.float64)[rows, cols]
    return rows.astype(np.int64), cols.astype(np.int64), target, w


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
    earlier steps may be NaN). A stacking ensemble's meta-model learns from purged k-fold
    (``ml.cv.row_folds``, ``embargo`` bars after each fold) over the rows' bars."""
    model = build_model(spec)
    rows, cols, target, w = _fit_rows(
        features, y, label_end, t, label, model.kind, train_window, embargo
    )
    if rows.size < min_rows:
        return None
    X = window_rows(features, rows, cols, spec.window)
    search.fit_rows(model, X, target[rows, cols], rows, label_end[rows, cols], embargo, w)
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

    # the registry is opened (created if missing) where these point: never from a client
    _server_side = field_validator("tracking_uri", "root")(operator_only)


class TrainConfig(Storable):
    """``alphapulse train`` configuration: one model on one window, registered."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=MODEL_NAME_PATTERN)  # registered model name
    data: DataConfig
    features: FeatureSetConfig | str = "default"  # inline, a YAML path, or "default"
    benchmark: str | None = None
    label: LabelSpec = Field(default_factory=LabelSpec)
    model: ModelSpec
    train_start: str | None = None  # first row (default: the data's first bar)
    train_end: str  # last bar; only labels realised by then are used
    test_end: str | None = None  # holdout (train_end, test_end] for metrics; None: none
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    tuning: TuningSpec | None = None  # tune model.params on the training window first
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)

    @field_validator("train_start", "train_end", "test_end")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            utc_timestamp(v)  # ValueError: the field is named in one line
        return v

    @model_validator(mode="after")
    def _holdout_after_training(self) -> TrainConfig:
        if self.test_end is not None and utc_timestamp(self.test_end) <= utc_timestamp(
            self.train_end
        ):
            raise ValueError(f"test_end {self.test_end} must be after train_end {self.train_end}")
        return self


def load_train_config(path: str | Path) -> TrainConfig:
    p = Path(path)
    raw = read_yaml(p)  # a missing file or bad YAML: one line
    try:
        return TrainConfig.model_validate(raw)
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


def tune_spec(
    features: FloatArray,
    y: FloatArray,
    label_end: IntArray,
    t: int,
    spec: ModelSpec,
    label: LabelSpec,
    tuning: TuningSpec,
    *,
    train_window: int | None = None,
) -> tuple[ModelSpec, dict[str, Any]]:
    """Tune ``spec.params`` over ``tuning.space`` on the rows ``fit_at`` would train on at
    bar t (labels realised by t, inside ``train_window``), purged k-fold within them;
    nothing after t is passed to a fit. Returns the spec with the best params and the
    summary (metric, direction, best_value, best_params, n_trials, ...)."""
    metric = tuning_metric(spec, tuning)
    kind = build_model(spec).kind
    rows, cols, target, w = _fit_rows(features, y, label_end, t, label, kind, train_window, 0)
    if rows.size == 0:
        raise ConfigError("tuning: no training rows with realised labels in the window")
    ends = label_end[rows, cols]
    assert rows.max() <= t and ends.max() <= t  # the training window only
    X = window_rows(features, rows, cols, spec.window)

    def factory(trial: Any) -> Model:
        params = {k: r.suggest(trial, k) for k, r in tuning.space.items()}
        return build_model(spec.model_copy(update={"params": {**spec.params, **params}}))

    direction: Literal["maximize", "minimize"] = (
        "minimize" if metric in ("log_loss", "mse") else "maximize"
    )
    res = search.tune(
        factory,
        X,
        target[rows, cols],
        rows,
        ends,
        tuning.n_trials,
        n_splits=tuning.n_splits,
        embargo=tuning.embargo,
        score=lambda m, Xs, ys: search.score(metric, m, Xs, ys),
        sample_weight=w,
        direction=direction,
        seed=tuning.seed,
    )
    best = spec.model_copy(update={"params": {**spec.params, **res.best_params}})
    summary = {
        "metric": metric,
        "direction": direction,
        "best_value": res.best_value,
        "best_params": res.best_params,
        "n_trials": len(res.study.trials),
        "n_splits": tuning.n_splits,
        "embargo": tuning.embargo,
        "seed": tuning.seed,
        "rows": int(rows.size),
    }
    return best, summary


def run_training(
    cfg: TrainConfig, panel: Panel | None = None, registry: ModelRegistry | None = None
) -> dict[str, Any]:
    """Train ``cfg.model`` on the window, evaluate it on the holdout, register it;
    returns name, version, metrics and the metadata."""
    from alphapulse.engine.recording import data_hash
    from alphapulse.features import compute_features

    if cfg.tuning is not None:
        tuning_metric(cfg.model, cfg.tuning)  # bad space keys / metric: fail before loading
    if panel is None:
        d = cfg.data
        end = cfg.test_end or cfg.train_end
        root = Path(d.root) if d.root else None
        from alphapulse.data.catalog import load_panel

        panel = load_panel(d.source, d.symbols, start=d.start, end=end, root=root, adjust=True)
    fs = feature_set(cfg.features)
    fm = compute_features(panel, fs, cfg.benchmark)
    y, label_end = make_labels(panel, cfg.label)
    idx = panel.index()
    if utc_timestamp(cfg.train_end) > idx[-1]:
        raise ConfigError(
            f"train_end {cfg.train_end} is after the last bar loaded ({idx[-1].date()})"
        )
    t_end = _bar(idx, cfg.train_end)
    t0 = 0 if cfg.train_start is None else _bar(idx, cfg.train_start, first=True)
    # Training sees the window's bars only: its labels are made from them, so the bars
    # loaded for the holdout neither add training rows (a triple-barrier label exists
    # only once its whole horizon is in the data) nor change their uniqueness weights.
    n = t_end + 1
    seen = Panel(panel.timestamps[:n], panel.symbols, {k: v[:n] for k, v in panel.fields.items()})
    y_fit, end_fit = make_labels(seen, cfg.label)
    feats = fm.values[:n]
    verdict = _leakage_gate(cfg, fs, seen, y_fit, end_fit)
    spec, tuned = cfg.model, None
    if cfg.tuning is not None:
        spec, tuned = tune_spec(
            feats, y_fit, end_fit, t_end, spec, cfg.label, cfg.tuning, train_window=n - t0
        )
    fitted = fit_at(feats, y_fit, end_fit, t_end, spec, cfg.label, train_window=n - t0)
    if fitted is None:
        raise ConfigError("no training rows with realised labels in the window")
    model = fitted.model
    finite = np.asarray(np.isfinite(fm.values).all(axis=2))
    metrics: dict[str, float] = {}
    after = np.arange(len(idx))[:, None] > fitted.max_label_end
    train_target = realised_targets(y_fit, end_fit, t_end, cfg.label, model.kind)
    test_target = target_values(y, cfg.label, model.kind)
    for prefix, x, target, ret, rows in (
        ("train", feats, train_target, y_fit, training_rows(end_fit, t_end, train_window=n - t0)),
        ("test", fm.values, test_target, y, after & (label_end < len(idx))),
    ):
        rows = rows & finite[: len(x)] & learnable(target, cfg.label, model.kind)
        m = evaluate(model, x, target, ret, rows, spec.window)
        metrics.update({f"{prefix}_{k}": v for k, v in m.items()})
    check_accuracy(verdict, "holdout hit_rate", metrics.get("test_hit_rate", np.nan), cfg.leakage)
    verdict.enforce()
    params = {
        "model": spec.model_dump(mode="json"),  # with the tuned params, if any
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
        # exact bars (UTC ns) for the in-sample guard (``ml.integrity.TrainingSpan``)
        "train_start_ns": int(panel.timestamps[fitted.first_row]),
        "train_end_ns": int(panel.timestamps[t_end]),
        "max_label_end_ns": int(panel.timestamps[fitted.max_label_end]),
        "leakage": verdict.as_dict(),
    }
    if tuned is not None:
        meta["tuning"] = tuned
    reg = registry or ModelRegistry(cfg.registry.tracking_uri, root=cfg.registry.root)
    version = reg.register(model, cfg.name, meta)
    return {"name": cfg.name, "version": version, "metrics": metrics, "metadata": meta}


def _leakage_gate(
    cfg: TrainConfig, fs: FeatureSetConfig, seen: Panel, y: FloatArray, label_end: IntArray
) -> LeakageVerdict:
    """The leakage checks of the feature set on the training window's bars ``seen`` and
    their labels (made from those bars); raises on a failure unless overridden."""
    from alphapulse.features import compute_features

    def features(p: Panel) -> tuple[tuple[str, ...], FloatArray]:
        fm = compute_features(p, fs, cfg.benchmark)
        return fm.names, fm.values

    verdict = LeakageVerdict(cfg.leakage.override)
    target = target_values(y, cfg.label, "regressor")
    check_features(verdict, features, seen, target, label_end, cfg.leakage)
    verdict.enforce()
    return verdict


def _code_version() -> str:
    import alphapulse

    return f"alphapulse {alphapulse.__version__}"
