"""Purged walk-forward research: the ML strategy against baselines, out of sample, after
costs, through the one engine.

The time axis is split by ``ml.cv.PurgedWalkForward`` into ``n_splits`` test blocks
[a_k, a_k + test_size). The ML strategy runs in the engine over the whole panel; it
first trains at the close of bar a_0 - 1 and then every ``test_size`` bars, i.e. at
a_k - 1 for fold k, on the rows whose labels are realised by then (exactly the
walk-forward's purged training times, per symbol), and its decisions at a_k - 1 ...
a_{k+1} - 2 fill and earn inside fold k. The baselines run in the same engine with the
same costs, gated to start deciding at the same bar (``Gated``), so every strategy holds
cash until the out-of-sample span begins. Metrics: ``ml.report``.

Before the engine runs, the leakage gate (``ml.leakage_gate``) checks the ML strategy's
feature set (canary, future-vs-past IC); after it, the out-of-sample prediction hit
rate. The verdict heads the report; a failure stops the run unless overridden.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.config import (
    BacktestConfig,
    DataConfig,
    Storable,
    StrategyConfig,
    format_validation_error,
    read_yaml,
)
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.context import Context
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.runner import load_data
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.executor import ExecutorConfig
from alphapulse.features import compute_features
from alphapulse.ml.cv import PurgedWalkForward
from alphapulse.ml.drift import drift_events_frame, write_drift_events
from alphapulse.ml.leakage_gate import (
    LeakageConfig,
    LeakageVerdict,
    check_accuracy,
    check_features,
)
from alphapulse.ml.report import metrics_frame, prediction_metrics, window_metrics, write_report
from alphapulse.ml.research_dispatch import MLRun, run_all
from alphapulse.ml.research_dispatch import run_ml as run_ml
from alphapulse.ml.training import make_labels, target_values
from alphapulse.model.signals import Signals
from alphapulse.portfolio.config import PortfolioConfig
from alphapulse.risk.config import RiskConfig
from alphapulse.strategies.base import Strategy, StrategyParams
from alphapulse.strategies.ml_strategy import MLStrategy, RetrainRecord, risk_stops
from alphapulse.strategies.registry import load_strategy

ML_STRATEGY = "alphapulse.strategies.ml_strategy:MLStrategy"
GATED = "alphapulse.ml.research:Gated"
_MANAGED = ("start", "retrain_every", "train_window", "embargo")


class Gated(Strategy):
    """Runs ``strategy`` on every bar (its state stays current) but passes its signals
    on only from ``start`` (UTC) on."""

    class Params(StrategyParams):
        strategy: str
        params: dict[str, Any] = Field(default_factory=dict)
        start: str

    def __init__(self, params: StrategyParams | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.inner = load_strategy(self.p.strategy, self.p.params)
        self._start = int(pd.Timestamp(self.p.start, tz="UTC").value)

    def on_bar(self, ctx: Context) -> Signals | None:
        signals = self.inner.on_bar(ctx)
        return signals if ctx.ts_ns >= self._start else None

    def strategy_outputs(self) -> dict[str, pd.DataFrame]:
        return self.inner.strategy_outputs()


def gate(strategies: list[StrategyConfig], start: str) -> list[StrategyConfig]:
    """Each strategy wrapped in ``Gated`` from ``start`` on, under its own label."""
    return [
        StrategyConfig(
            strategy=GATED,
            name=s.label,
            params={"strategy": s.strategy, "params": s.params, "start": start},
        )
        for s in strategies
    ]


class WalkForwardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_splits: int = Field(5, ge=1)
    test_size: int | None = Field(None, ge=1)  # bars per fold; None: T // (n_splits + 1)
    mode: Literal["expanding", "sliding"] = "expanding"
    train_size: int | None = Field(None, ge=2)  # sliding: bars of training rows
    embargo: int = Field(0, ge=0)


def _default_baselines() -> list[StrategyConfig]:
    return [
        StrategyConfig(strategy="buy_and_hold"),
        StrategyConfig(strategy="sma_cross", params={"fast": 20, "slow": 100}),
        StrategyConfig(strategy="mean_reversion", params={"window": 20, "entry_z": 1.5}),
    ]


class ResearchConfig(Storable):
    """``alphapulse research`` configuration (``examples/ml_research.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "ml_research"
    data: DataConfig
    initial_cash: float = Field(1_000_000.0, gt=0)
    fill_at: Literal["next_open", "close"] = "next_open"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    walk_forward: WalkForwardConfig = Field(default_factory=WalkForwardConfig)
    ml: dict[str, Any] = Field(default_factory=dict)  # MLStrategy params (no _MANAGED keys)
    portfolio: PortfolioConfig | None = None  # the ML strategy's construction
    risk: RiskConfig | None = None  # every strategy's risk stage (ML exits added)
    baselines: list[StrategyConfig] = Field(default_factory=_default_baselines)
    baseline_portfolio: PortfolioConfig | None = None  # None: EqualSlot (the default)
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)
    executor: ExecutorConfig | None = None  # None: ML here, baselines in local processes

    @model_validator(mode="after")
    def _check_ml(self) -> ResearchConfig:
        managed = sorted(set(self.ml) & set(_MANAGED))
        if managed:
            raise ValueError(f"ml.{managed[0]}: set by walk_forward, not in ml")
        MLStrategy.Params.model_validate(self.ml)
        labels = [b.label for b in self.baselines]
        if "ml" in labels or len(set(labels)) != len(labels):
            raise ValueError("baseline names must be unique and not 'ml'")
        return self

    def ml_params(self, start: str, test_size: int, first_test: int) -> dict[str, Any]:
        """The ML strategy's params: refit every test block on the walk-forward's training
        window (``sliding``: ``train_size``, default the first block's start bar
        ``first_test``, as ``PurgedWalkForward``)."""
        wf = self.walk_forward
        window = (wf.train_size or first_test) if wf.mode == "sliding" else None
        return {
            **self.ml,
            "start": start,
            "retrain_every": test_size,
            "train_window": window,
            "embargo": wf.embargo,
        }

    def backtest(self, strategies: list[StrategyConfig], ml: bool) -> BacktestConfig:
        risk = self.risk
        if ml:
            risk = risk_stops(MLStrategy.Params.model_validate(strategies[0].params), risk)
        return BacktestConfig(
            name=self.name,
            data=self.data,
            initial_cash=self.initial_cash,
            fill_at=self.fill_at,
            execution=self.execution,
            portfolio=self.portfolio if ml else self.baseline_portfolio,
            risk=risk,
            strategies=strategies,
            executor=self.executor,
        )


def load_research_config(path: str | Path) -> ResearchConfig:
    p = Path(path)
    raw = read_yaml(p)  # a missing file or bad YAML: one line
    try:
        return ResearchConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(p))) from None


def folds(cfg: ResearchConfig, panel: Panel, label_end: np.ndarray) -> list[tuple[int, int, int]]:
    """(a, b, n_train_times) per fold: test bars [a, b) and the walk-forward's purged
    training times."""
    wf = cfg.walk_forward
    cv = PurgedWalkForward(wf.n_splits, wf.mode, wf.train_size, wf.test_size, wf.embargo)
    out = []
    for train, test in cv.split(panel.n_bars, label_end):
        out.append((int(test[0]), int(test[-1]) + 1, len(train)))
    return out


def run_research(
    cfg: ResearchConfig, out: Path | None = None, panel: Panel | None = None
) -> dict[str, Any]:
    """Walk-forward run of the ML strategy and the baselines; writes the report to
    ``out`` when given and returns it (``report.json``'s content)."""
    t_start = time.perf_counter()
    panel = panel if panel is not None else load_data(cfg.backtest(cfg.baselines, False))
    ml_params = MLStrategy.Params.model_validate(cfg.ml)
    label_spec = ml_params.label
    y, label_end = make_labels(panel, label_spec)
    realised = target_values(y, label_spec, "regressor")  # the label the model ranks
    verdict = LeakageVerdict(cfg.leakage.override)
    fs = MLStrategy(ml_params).feature_set

    def features(p: Panel) -> tuple[tuple[str, ...], np.ndarray]:
        fm = compute_features(p, fs, ml_params.benchmark)
        return fm.names, fm.values

    check_features(verdict, features, panel, realised, label_end, cfg.leakage)
    verdict.enforce()  # before the engine runs
    blocks = folds(cfg, panel, label_end)
    a0, test_size = blocks[0][0], blocks[0][1] - blocks[0][0]
    if a0 < 1:
        raise ConfigError("walk_forward: the first test block must leave training bars")
    # the first decision: at the bar before the first test bar when it fills at the next
    # open (on the test bar); at the first test bar under ``fill_at: close`` (it fills at
    # that close: a decision a bar earlier would pay its costs before the window)
    first = a0 - 1 if cfg.fill_at == "next_open" else a0
    start = str(panel.index()[first].isoformat())
    ml_cfg = StrategyConfig(
        strategy=ML_STRATEGY, name="ml", params=cfg.ml_params(start, test_size, a0)
    )
    gated = gate(cfg.baselines, start)
    t_ml = time.perf_counter() - t_start  # + the ML run's own time (baselines may overlap)
    strat, baselines = run_all(
        cfg.executor, cfg.backtest([ml_cfg], True), cfg.backtest(gated, False), panel
    )
    t_ml += strat.seconds
    results = {"ml": strat.result, **baselines}
    score = strat.predictions
    idx = panel.index()
    rows: list[dict[str, Any]] = []
    windows = [(str(k), a, b) for k, (a, b, _) in enumerate(blocks)]
    windows.append(("overall", a0, blocks[-1][1]))
    ppy = observed_periods_per_year(idx)  # the bars present: hourly crypto is not 252
    for fold, a, b in windows:
        for label, r in results.items():
            m: dict[str, Any] = {"fold": fold, "start": str(idx[a].date())}
            m.update(end=str(idx[b - 1].date()), strategy=label, **window_metrics(r, a, b, ppy))
            if label == "ml":
                m.update(prediction_metrics(score, realised, a, b))
            rows.append(m)
    metrics = metrics_frame(rows)
    overall = next(r for r in rows if r["fold"] == "overall" and r["strategy"] == "ml")
    check_accuracy(
        verdict, "ml pred_hit_rate", float(overall.get("pred_hit_rate") or np.nan), cfg.leakage
    )
    verdict.enforce()
    report = {
        "name": cfg.name,
        "leakage": verdict.as_dict(),
        "summary": (
            f"{verdict.line()}. {panel.n_symbols} symbols; out of sample {idx[a0].date()} to "
            f"{idx[blocks[-1][1] - 1].date()} ({blocks[-1][1] - a0} bars, {len(blocks)} "
            f"folds, {cfg.walk_forward.mode}); all figures after commission and slippage."
        ),
        "config": cfg.model_dump(mode="json"),
        "folds": [_fold_info(k, a, b, n, idx) for k, (a, b, n) in enumerate(blocks)],
        "retrains": [_retrain_info(r, idx) for r in strat.retrains],
        "metrics": metrics.replace({np.nan: None}).to_dict(orient="records"),
        "drift_events": _drift_records(strat),
        "seconds": {"ml": round(t_ml, 1), "total": round(time.perf_counter() - t_start, 1)},
    }
    if out is not None:
        for label, r in results.items():
            write_outputs(r, out / "runs" / label)
        write_drift_events(strat.drift_events, out / "runs" / "ml" / "drift_events.csv")
        write_drift_events(strat.drift_events, out / "drift_events.csv")
        write_report(out, report, metrics)
    return report


def _fold_info(k: int, a: int, b: int, n: int, idx: pd.DatetimeIndex) -> dict[str, Any]:
    return {
        "fold": k,
        "test_start": str(idx[a].date()),
        "test_end": str(idx[b - 1].date()),
        "test_bars": b - a,
        "cv_train_times": n,
    }


def _retrain_info(r: RetrainRecord, idx: pd.DatetimeIndex) -> dict[str, Any]:
    return {
        "bar": r.t,
        "time": str(idx[r.t].date()),
        "rows": r.n_rows,
        "first_row": r.first_row,
        "last_row": r.last_row,
        "max_label_end": r.max_label_end,
    }


def _drift_records(strat: MLRun) -> list[dict[str, Any]]:
    df = drift_events_frame(strat.drift_events)
    df["timestamp"] = df["timestamp"].astype(str)
    return [{str(k): v for k, v in row.items()} for row in df.to_dict(orient="records")]
