"""A machine-learning strategy that trains and trades inside the engine.

Every bar: the incremental ``FeatureState`` takes the new bars (values equal the batch
``compute_features``), the current model predicts every symbol with a bar, and every
``rebalance_every`` bars the predictions become Signals (``ml.signals``: thresholds on
the score, size from the model's confidence). Every ``retrain_every`` bars from ``start``
the model is refitted on the rows whose labels are realised at that bar
(``ml.training``: label_end <= t - embargo; labels are computed from the history up to
t). So a walk-forward backtest and a paper run train the same way, on the same data.
Sequence models (``model.window``) get, for training and prediction alike, the window of
each symbol's features over the ``window`` bars ending at the row's own bar; the
strategy keeps the whole causal feature history it has computed, nothing later.

Drift (``ml.drift``) is checked before each retrain (and every ``drift.every`` bars):
PSI/KS of the recent ``drift.window`` bars' features against the current model's
training rows, hit rate and Brier score of the predictions realised since; alerts are
kept in ``drift_events``. Suggested stop / take-profit prices (``vol_window`` ATR
multiples) for the latest entries are in ``exits``; the risk stage places such brackets
when its ``stops`` use the same multiples (``risk_stops``).

With ``registry`` the strategy trades a model registered by ``alphapulse train``
(``ml.registry``) instead of training its first one: the model is loaded once, when the
strategy is built, together with its feature set, label, model spec and benchmark from
the registry metadata (a parameter given explicitly must equal the metadata's, else a
ConfigError naming it). It predicts from the first bar on (from ``start``), so a bar costs
only the incremental features and one inference; ``retrain_every`` defaults to None there
(never refit), and when set the in-loop refits take over from the registered model.
While the registered model decides, a bar before the last label it learnt
(``max_label_end``) is in sample (``ml.integrity``): the run stops there with a
ConfigError, or with ``allow_in_sample: true`` the bar is marked (``in_sample``), an
``in_sample`` event is kept and ``sample_split.csv`` reports the two parts separately.
A retrain that finds fewer than ``min_train_rows`` usable rows warns and keeps a
``no_training_rows`` event (``drift_events.csv``).
A refit whose fit raises a ValueError (e.g. a classifier's window with a single class)
keeps the previous model, warns and keeps a ``refit_failed`` event.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, ValidationInfo, field_validator, model_validator

from alphapulse.core.errors import ConfigError
from alphapulse.core.trust import from_client
from alphapulse.data.panel import Panel
from alphapulse.data.raw import utc_timestamp
from alphapulse.engine.context import Context
from alphapulse.features import FeatureSetConfig, FeatureState, default_feature_set
from alphapulse.features import load_feature_set as _load_feature_set
from alphapulse.ml.drift import DriftConfig, DriftEvent, DriftMonitor, drift_events_frame
from alphapulse.ml.integrity import TrainingSpan, split_metrics
from alphapulse.ml.models.base import Model
from alphapulse.ml.models.spec import ModelSpec
from alphapulse.ml.models.windows import window_rows
from alphapulse.ml.signals import SignalRule, to_signals, vol_exits
from alphapulse.ml.training import (
    LabelSpec,
    RegistryConfig,
    TrainedModel,
    fit_at,
    make_labels,
)
from alphapulse.model.signals import Signals
from alphapulse.portfolio.estimators import atr_at
from alphapulse.risk.config import ExitRule, RiskConfig, StopsConfig
from alphapulse.strategies.base import Strategy, StrategyParams

FloatArray = npt.NDArray[np.float64]
_OHLCV = ("open", "high", "low", "close", "volume")


_NEVER = np.iinfo(np.int64).max  # no refit


def _default_model() -> ModelSpec:
    return ModelSpec(kind="lgbm_classifier", params={"n_estimators": 100, "num_leaves": 15})


class RegistryModel(RegistryConfig):
    """A registered model to trade: ``name`` at ``version`` in the registry at ``root`` /
    ``tracking_uri`` (defaults as ``alphapulse train``: $ALPHAPULSE_MLRUNS or ./mlruns)."""

    name: str
    version: Annotated[int, Field(ge=1)] | Literal["latest"] = "latest"


class MLStrategy(Strategy):
    class Params(StrategyParams):
        features: FeatureSetConfig | str = "default"  # inline, a YAML path, or "default"
        benchmark: str | None = None  # index symbol of the market features
        label: LabelSpec = Field(default_factory=LabelSpec)
        model: ModelSpec = Field(default_factory=_default_model)
        start: str | None = None  # no training or trading before this date (UTC)
        registry: RegistryModel | None = None  # trade a registered model (see module doc)
        allow_in_sample: bool = False  # registry: mark in-sample bars instead of refusing
        retrain_every: int | None = Field(63, ge=1)  # bars between refits; None: never
        train_window: int | None = Field(None, ge=2)  # bars of rows; None: expanding
        embargo: int = Field(0, ge=0)  # extra bars a label must be realised before t
        min_train_rows: int = Field(1000, ge=1)
        rebalance_every: int = Field(5, ge=1)  # bars between signals
        signal: SignalRule = Field(default_factory=SignalRule)
        stop_loss_atr: float | None = Field(None, gt=0)  # suggested exits, ATR multiples
        take_profit_atr: float | None = Field(None, gt=0)
        vol_window: int = Field(14, ge=1)  # ATR window of the exits
        drift: DriftConfig = Field(default_factory=DriftConfig)

        @model_validator(mode="before")
        @classmethod
        def _registry_defaults(cls, data: Any) -> Any:
            """With a registry model, ``retrain_every`` defaults to None (no refits)."""
            if isinstance(data, dict) and data.get("registry") is not None:
                data = {"retrain_every": None, **data}
            return data

        @field_validator("features")
        @classmethod
        def _no_file_from_client(cls, f: Any, info: ValidationInfo) -> Any:
            if isinstance(f, str) and f != "default" and from_client(info):
                raise ValueError("a file path is not accepted through the API")
            return f

        @model_validator(mode="after")
        def _check(self) -> MLStrategy.Params:
            if self.retrain_every is None and self.registry is None:
                raise ValueError("retrain_every: None (no refits) needs a registry model")
            if self.start is not None:
                utc_timestamp(self.start)
            return self

    def __init__(self, params: StrategyParams | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        f = self.p.features
        if isinstance(f, str):
            f = default_feature_set() if f == "default" else _load_feature_set(Path(f))
        self.feature_set: FeatureSetConfig = f
        self._state: FeatureState | None = None
        self._feat = _Rows()  # [t, N, F] feature values fed so far
        self._pred = _Rows()  # [t, N] scores (NaN: no prediction)
        self._conf = _Rows()
        self._start_ns: int | None = (
            None if self.p.start is None else int(pd.Timestamp(self.p.start, tz="UTC").value)
        )
        self._next_train: int | None = None
        self._first_signal: int | None = None
        self.current: TrainedModel | None = None
        self.retrains: list[RetrainRecord] = []
        self.monitor = DriftMonitor(self.p.drift)
        self.exits: tuple[FloatArray, FloatArray] | None = None
        self.registered: RegisteredModel | None = None
        self._span: TrainingSpan | None = None  # while the registered model decides
        self._in_sample: list[bool] = []  # per bar: decided in sample
        self.n_in_sample = 0
        self._warned_untrained = False
        self._equity: list[tuple[int, float]] = []
        if self.p.registry is not None:
            self.registered = _load_registered(self.p, self.p.registry, self.feature_set)
            self._span = self.registered.span
            self.feature_set = self.registered.feature_set
            self.p = self.p.model_copy(update=self.registered.params)
        self.window: int | None = self.p.model.window  # sequence models' input bars

    # -- what a run leaves behind -------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        return () if self._state is None else self._state.names

    @property
    def features(self) -> FloatArray:
        """Feature values [t, N, F] of every bar seen."""
        return self._feat.view()

    @property
    def predictions(self) -> FloatArray:
        """Scores [t, N] made at each bar (NaN before the first model)."""
        return self._pred.view()

    @property
    def confidences(self) -> FloatArray:
        return self._conf.view()

    @property
    def drift_events(self) -> list[DriftEvent]:
        return self.monitor.events

    @property
    def in_sample(self) -> npt.NDArray[np.bool_]:
        """Per bar: True where a registered model decided in sample."""
        return np.array(self._in_sample, dtype=bool)

    def sample_split(self) -> pd.DataFrame:
        """Metrics of the equity over the in-sample and out-of-sample bars (empty when
        no bar was in sample)."""
        if not self.n_in_sample:
            return pd.DataFrame()
        ts, eq = zip(*self._equity, strict=True)
        equity = pd.Series(eq, index=pd.to_datetime(np.array(ts), utc=True))
        return split_metrics(equity, self.in_sample)

    def strategy_outputs(self) -> dict[str, pd.DataFrame]:
        """Extra run outputs (``engine.outputs.write_outputs``): ``drift_events.csv``
        and, after in-sample bars, ``sample_split.csv``."""
        out = {"drift_events": drift_events_frame(self.drift_events)}
        split = self.sample_split()
        if len(split):
            out["sample_split"] = split
        return out

    # -- the engine's call ----------------------------------------------------------------
    def on_bar(self, ctx: Context) -> Signals | None:
        feats = self._feed(ctx)
        n = ctx.n_symbols
        nan = np.full(n, np.nan)
        self._equity.append((ctx.ts_ns, ctx.equity))
        self._in_sample.append(False)
        if self._start_ns is not None and ctx.ts_ns < self._start_ns:
            self._record(nan, nan)
            return None
        t = ctx.t
        if self._next_train is None and self.registered is not None:
            self._use_registered(ctx)
        if self._span is not None and self._span.guard(ctx.ts_ns, self.p.allow_in_sample):
            self._mark_in_sample(ctx)
        if self._next_train is None or t >= self._next_train:
            assert self.p.retrain_every is not None  # None only with a registered model
            self._next_train = t + self.p.retrain_every
            self._retrain(ctx)
        elif self.p.drift.every is not None and t % self.p.drift.every == 0:
            self._check_drift(ctx)
        if self.current is None:
            self._record(nan, nan)
            return None
        score, conf = self._predict(feats, ctx)
        self._record(score, conf)
        if self._first_signal is None:
            self._first_signal = t
        if (t - self._first_signal) % self.p.rebalance_every:
            return None
        signals = to_signals(score, conf, self.p.signal)
        if self.p.stop_loss_atr is not None or self.p.take_profit_atr is not None:
            close = ctx.prices(1)[-1]
            atr = atr_at(ctx, self.p.vol_window)
            self.exits = vol_exits(
                close, atr, signals.direction, self.p.stop_loss_atr, self.p.take_profit_atr
            )
        return signals

    # -- internals ------------------------------------------------------------------------
    def _feed(self, ctx: Context) -> FloatArray:
        """Feed the FeatureState every row it has not seen yet (normally just row t;
        more after bars the engine did not show, e.g. while halted)."""
        if self._state is None:
            self._state = FeatureState(self.feature_set, ctx.symbols, self.p.benchmark)
        seen = self._feat.n
        k = ctx.t + 1 - seen
        if k > 0:
            bars = {name: ctx.field(name, k) for name in _OHLCV}
            block = self._state.update_block(bars, ctx.history.timestamps(k))
            self._feat.extend(block)
            pad = np.full((k - 1, ctx.n_symbols), np.nan)
            self._pred.extend(pad)
            self._conf.extend(pad)
        out: FloatArray = self._feat.view()[ctx.t]
        return out

    def _use_registered(self, ctx: Context) -> None:
        """The first active bar: the registered model becomes the current one (as if
        trained at this bar, on no rows of this run: no drift sample); refits, if any,
        start ``retrain_every`` bars later."""
        assert self.registered is not None
        every = self.p.retrain_every
        self._next_train = _NEVER if every is None else ctx.t + every
        self.current = TrainedModel(
            self.registered.model,
            ctx.t,
            self.registered.train_rows,
            -1,
            -1,
            -1,
            np.empty((0, len(self.feature_names))),
        )

    def _mark_in_sample(self, ctx: Context) -> None:
        """Mark bar t in sample; the first such bar warns and keeps an event."""
        assert self._span is not None
        if not self.n_in_sample:
            msg = f"{self._span.what} decides in sample from {pd.Timestamp(ctx.ts_ns, tz='UTC')}"
            warnings.warn(msg + " (allow_in_sample: true)", UserWarning, stacklevel=2)
            self.monitor.events.append(
                DriftEvent(ctx.ts_ns, "in_sample", self._span.what, 1.0, 0.0, msg)
            )
        self._in_sample[-1] = True
        self.n_in_sample += 1

    def _record(self, score: FloatArray, conf: FloatArray) -> None:
        self._pred.extend(score[None, :])
        self._conf.extend(conf[None, :])

    def _predict(self, feats: FloatArray, ctx: Context) -> tuple[FloatArray, FloatArray]:
        assert self.current is not None
        n = ctx.n_symbols
        score, conf = np.full(n, np.nan), np.full(n, np.nan)
        ok = np.isfinite(ctx.close(1)[-1]) & np.isfinite(feats).all(axis=1)
        if ok.any():
            pred = self.current.model.predict_with_uncertainty(self.inputs(ctx.t, ok))
            score[ok] = pred.mean
            conf[ok] = pred.confidence
        return score, conf

    def inputs(self, t: int, symbols: npt.NDArray[np.bool_]) -> FloatArray:
        """The model input of bar ``t`` for the ``symbols`` (mask): their feature rows
        ``[k, F]``, or with ``model.window`` their windows ``[k, window, F]`` over bars
        ``t - window + 1 .. t`` (the same construction as the training rows)."""
        sid = np.flatnonzero(symbols)
        return window_rows(self._feat.view()[: t + 1], np.full(sid.size, t), sid, self.window)

    def _panel(self, ctx: Context) -> Panel:
        """The bars seen so far, as a Panel (rows [0, t])."""
        fields = {k: np.array(ctx.field(k)) for k in _OHLCV}
        return Panel(np.array(ctx.history.timestamps()), ctx.symbols, fields)

    def _retrain(self, ctx: Context) -> None:
        y, label_end = make_labels(self._panel(ctx), self.p.label)
        self._check_drift(ctx, y, label_end)
        p = self.p
        try:
            fitted = fit_at(
                self._feat.view(), y, label_end, ctx.t, p.model, p.label,
                train_window=p.train_window, embargo=p.embargo, min_rows=p.min_train_rows,
                max_sample=p.drift.max_rows,
            )  # fmt: skip
        except ConfigError:  # settings that cannot work (also a ValueError): one line
            raise
        except ValueError as exc:  # e.g. a classifier's window with a single class
            self._refit_failed(ctx, exc)
            return
        if fitted is None:
            self._no_training_rows(ctx)
            return
        self.current = fitted
        self._span = None  # refitted on this run's realised rows: out of sample
        self.retrains.append(
            RetrainRecord(
                ctx.t,
                ctx.ts_ns,
                fitted.n_rows,
                fitted.first_row,
                fitted.last_row,
                fitted.max_label_end,
            )
        )

    def _refit_failed(self, ctx: Context, exc: ValueError) -> None:
        """A refit whose fit raised keeps the current model, a ``refit_failed`` event
        and a warning."""
        keeps = "keeps the previous model" if self.current is not None else "has no model yet"
        detail = f"{exc.args[0] if exc.args else exc}; {keeps}"
        self.monitor.events.append(DriftEvent(ctx.ts_ns, "refit_failed", "model", 0.0, 0.0, detail))
        when = pd.Timestamp(ctx.ts_ns, tz="UTC")
        warnings.warn(f"ml strategy refit failed at {when}: {detail}", UserWarning, stacklevel=3)

    def _no_training_rows(self, ctx: Context) -> None:
        """A retrain without ``min_train_rows`` usable rows keeps a ``no_training_rows``
        event; once the bars seen could have supplied them (not a warm-up) it also warns,
        once, so a strategy that cannot train is not a quiet empty run."""
        need = self.p.min_train_rows
        bars = int(np.isfinite(ctx.close()).sum())
        usable = int(np.isfinite(self._feat.view()).all(axis=2).sum())
        detail = (
            f"fewer than min_train_rows={need} rows with finite features and a realised "
            f"label ({bars} bars seen, {usable} with every feature finite)"
        )
        self.monitor.events.append(
            DriftEvent(ctx.ts_ns, "no_training_rows", "model", float(usable), float(need), detail)
        )
        if bars >= need and not self._warned_untrained:
            self._warned_untrained = True
            when = pd.Timestamp(ctx.ts_ns, tz="UTC")
            msg = f"ml strategy cannot train at {when}: {detail}; it does not trade"
            warnings.warn(msg, UserWarning, stacklevel=2)

    def _check_drift(
        self,
        ctx: Context,
        y: FloatArray | None = None,
        label_end: npt.NDArray[np.int64] | None = None,
    ) -> None:
        if self.current is None or not self.p.drift.enabled:
            return
        w = self.p.drift.window
        recent = self._feat.view()[-w:].reshape(-1, len(self.feature_names))
        self.monitor.check_features(ctx.ts_ns, self.current.sample, recent, self.feature_names)
        if y is None or label_end is None:
            y, label_end = make_labels(self._panel(ctx), self.p.label)
        lo, hi = max(ctx.t + 1 - w, self.current.t), self._pred.n  # rows predicted so far
        score = self._pred.view()[lo:hi]
        realised = np.where(label_end[lo:hi] <= ctx.t, y[lo:hi], np.nan)
        prob = None
        if self.current.model.kind == "classifier":
            prob = (score + 1.0) / 2.0  # mean of -1/+1 labels = 2 P(up) - 1
        self.monitor.check_predictions(
            ctx.ts_ns, score.ravel(), realised.ravel(), 0.0, None if prob is None else prob.ravel()
        )


@dataclass(frozen=True, slots=True)
class RetrainRecord:
    """One refit: at bar ``t``, on ``n_rows`` rows of bars [first_row, last_row] whose
    labels were all realised by ``max_label_end`` (<= t - embargo)."""

    t: int
    ts_ns: int
    n_rows: int
    first_row: int
    last_row: int
    max_label_end: int


@dataclass(frozen=True)
class RegisteredModel:
    """A model loaded from the registry with what the strategy takes from its metadata:
    the feature set and the parameters (``label``, ``model``, ``benchmark``)."""

    name: str
    version: int | Literal["latest"]
    model: Model
    metadata: dict[str, Any]
    feature_set: FeatureSetConfig
    params: dict[str, Any]
    train_rows: int
    span: TrainingSpan | None  # what it has seen (``ml.integrity``)


def _load_registered(
    p: MLStrategy.Params, ref: RegistryModel, features: FeatureSetConfig
) -> RegisteredModel:
    """Load ``ref`` and reconcile its metadata with the strategy's parameters: a
    parameter set explicitly must equal the metadata's (ConfigError naming it), one left
    at its default is taken from the metadata."""
    from alphapulse.ml.registry import ModelRegistry

    what = f"registry model {ref.name!r} version {ref.version}"
    try:
        model, meta = ModelRegistry(ref.tracking_uri, root=ref.root).load(ref.name, ref.version)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{what}: {exc.args[0] if exc.args else exc}") from None
    given = p.model_fields_set
    fs = _registered_features(meta)
    name, version = meta.get("feature_set"), meta.get("feature_set_version")
    trained = f"feature set {name!r} v{version}"
    if "features" in given:
        named = (features.name, str(features.version)) == (name, str(version))
        same = named and (
            fs is None or features.model_dump(mode="json") == fs.model_dump(mode="json")
        )
        if not same:
            mine = f"{features.name!r} v{features.version}"
            detail = " (same name and version, other definition)" if named else ""
            raise ConfigError(
                f"{what} was trained on {trained} but params.features is {mine}{detail}; "
                "drop params.features to use the model's feature set"
            )
        fs = features
    elif fs is None:
        raise ConfigError(
            f"{what} was trained on {trained}, whose definition is not in its metadata; "
            "give it as params.features"
        )
    stored = meta.get("params", {})
    params: dict[str, Any] = {}
    for key, parse in (
        ("label", LabelSpec.model_validate),
        ("model", ModelSpec.model_validate),
        ("benchmark", lambda v: v),
    ):
        if key not in stored:
            continue
        value = parse(stored[key])
        if key in given and getattr(p, key) != value:
            raise ConfigError(
                f"{what} was trained with {key} {stored[key]!r} but params.{key} is "
                f"{_json(getattr(p, key))!r}; drop params.{key} to use the model's"
            )
        params[key] = value
    span = TrainingSpan.from_metadata(meta, what)
    return RegisteredModel(
        ref.name, ref.version, model, meta, fs, params, int(meta.get("train_rows", 0)), span
    )


def _registered_features(meta: dict[str, Any]) -> FeatureSetConfig | None:
    """The feature set a registered model was trained on: its definition in the metadata
    (``feature_config``), or the built-in default by name; None when unknown."""
    if meta.get("feature_config") is not None:
        return FeatureSetConfig.model_validate(meta["feature_config"])
    default = default_feature_set()
    if (meta.get("feature_set"), str(meta.get("feature_set_version"))) == (default.name, "1"):
        return default
    return None


def _json(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


class _Rows:
    """An append-only array along its first axis (capacity doubles)."""

    def __init__(self) -> None:
        self._buf: FloatArray | None = None
        self.n = 0

    def extend(self, block: FloatArray) -> None:
        k = block.shape[0]
        if self._buf is None:
            self._buf = np.full((max(256, k), *block.shape[1:]), np.nan)
        if self.n + k > self._buf.shape[0]:
            bigger = np.full((max(2 * self._buf.shape[0], self.n + k), *block.shape[1:]), np.nan)
            bigger[: self.n] = self._buf[: self.n]
            self._buf = bigger
        self._buf[self.n : self.n + k] = block
        self.n += k

    def view(self) -> FloatArray:
        if self._buf is None:
            return np.empty((0,))
        return self._buf[: self.n]


def risk_stops(p: MLStrategy.Params, base: RiskConfig | None = None) -> RiskConfig | None:
    """``base`` with brackets at the strategy's ATR multiples (the risk stage places
    them); without ``base`` a risk stage that does nothing else. None without exits."""
    if p.stop_loss_atr is None and p.take_profit_atr is None:
        return base
    stops = StopsConfig(
        stop_loss=None
        if p.stop_loss_atr is None
        else ExitRule(method="atr", value=p.stop_loss_atr),
        take_profit=None
        if p.take_profit_atr is None
        else ExitRule(method="atr", value=p.take_profit_atr),
        atr_window=p.vol_window,
    )
    if base is not None:
        return base.model_copy(update={"stops": stops})
    off: dict[str, Any] = {
        "limits": {k: None for k in ("max_position_pct", "max_group_pct", "max_gross_leverage",
                                     "max_net_leverage")},
        "guards": {k: None for k in ("daily_loss_limit", "max_drawdown", "intraday_loss_limit",
                                     "stale_data", "error_burst")},
        "measures": {"enabled": False},
    }  # fmt: skip
    return RiskConfig.model_validate({**off, "stops": stops.model_dump()})
