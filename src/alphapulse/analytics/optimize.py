"""Walk-forward parameter optimisation of one strategy.

Every parameter set runs once over the whole panel (causal, so its returns up to bar t
are what a run that stopped at t would give): in the numba kernel of ``sweep.compiled``
when it supports the strategy and settings (``engine: auto``), else in the event engine.
The bars are cut into windows of ``train_bars`` followed by ``test_bars``, rolled by
``test_bars``; in each window the set with the best in-sample objective (grid: all sets;
optuna: a TPE study of ``n_trials`` sets over the same space) is chosen and its
out-of-sample returns are stitched into one equity curve. The choice is judged by the
deflated Sharpe of the stitched curve (trials: every set evaluated) and the PBO (CSCV) of
all evaluated sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics import bootstrap as bs
from alphapulse.analytics.metrics import simple_returns
from alphapulse.analytics.optimize_config import OptimizeConfig, Range
from alphapulse.analytics.overfitting import deflated_sharpe, pbo
from alphapulse.analytics.robustness import return_shape
from alphapulse.core.errors import ConfigError, SettingError
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_backtest

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]
#: Optuna trials asked at once: their parameter sets run as one batch (one executor map
#: of the event engine, ``backtest.executor``); fixed, so results do not depend on workers.
TRIAL_BATCH = 8


@dataclass
class Evaluations:
    """Per-bar returns of every parameter set run so far (keyed by its sorted items)."""

    cfg: OptimizeConfig
    panel: Panel
    workers: int | None = None
    progress: Progress | None = None
    returns: dict[tuple[tuple[str, Any], ...], FloatArray] = field(default_factory=dict)
    engine: str = "event"

    def run(self, sets: list[dict[str, Any]]) -> None:
        fresh = {_key(p): p for p in sets if _key(p) not in self.returns}  # each set once
        todo = list(fresh.values())
        for i in range(0, len(todo), 8):  # in batches, so progress moves
            batch = todo[i : i + 8]
            results = self._run(batch)
            for p, r in zip(batch, results.values(), strict=True):
                self.returns[_key(p)] = simple_returns(np.asarray(r.equity, dtype=np.float64))
            if self.progress is not None:
                self.progress(len(self.returns), len(self.returns) + len(todo) - i - len(batch))

    def _run(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """The numba kernel (``sweep.compiled``) when it supports the strategy and
        execution settings (engine auto/compiled), else the event engine."""
        cfg = self.cfg.backtest_config(batch)
        if self.cfg.engine != "event":
            from alphapulse.sweep.compiled import run_compiled_backtest

            try:
                results = run_compiled_backtest(cfg, self.panel)
                self.engine = "compiled"
                return dict(results)
            except ConfigError:
                if self.cfg.engine == "compiled":
                    raise
        self.engine = "event"
        return dict(run_backtest(cfg, self.panel, workers=self.workers))

    def get(self, params: dict[str, Any]) -> FloatArray:
        self.run([params])
        return self.returns[_key(params)]


def _key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def objective(r: FloatArray, kind: str, ppy: float) -> float:
    """The in-sample score of returns ``r`` (-inf when undefined)."""
    if len(r) < 2:
        return -math.inf
    if kind == "total_return":
        return float(np.prod(1.0 + r) - 1.0)
    if kind == "calmar":
        dd = float(bs.max_drawdown_rows(r[None, :])[0])
        growth = float(bs.cagr_rows(r[None, :], ppy)[0])
        return growth / -dd if dd < 0 else -math.inf
    sr = float(bs.sharpe_rows(r[None, :], ppy)[0])
    return sr if math.isfinite(sr) else -math.inf


def windows(n: int, train: int, test: int) -> list[tuple[int, int, int]]:
    """(train start, test start, test stop) over ``n`` returns; a last test window shorter
    than half of ``test`` is left out."""
    out = []
    start = 0
    while n - (start + train) >= max(1, test // 2):
        out.append((start, start + train, min(start + train + test, n)))
        start += test
    if not out:
        need = train + max(1, test // 2)
        raise SettingError(
            f"walk_forward: {n} bars are fewer than train_bars + max(1, test_bars // 2) = {need}"
        )
    return out


def _choose(ev: Evaluations, a: int, b: int, ppy: float, window_no: int) -> dict[str, Any]:
    cfg = ev.cfg
    if cfg.method == "grid":
        sets = cfg.grid()
        ev.run(sets)
        scores = [objective(ev.get(p)[a:b], cfg.objective, ppy) for p in sets]
        return sets[int(np.argmax(scores))]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    sampler = optuna.samplers.TPESampler(seed=cfg.seed + window_no)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for first in range(0, cfg.n_trials, TRIAL_BATCH):  # asked together, run in one map
        trials = [study.ask() for _ in range(min(TRIAL_BATCH, cfg.n_trials - first))]
        sets = [{k: _suggest(t, k, space) for k, space in cfg.params.items()} for t in trials]
        ev.run([p for p in sets if cfg.valid(p)])
        for trial, p in zip(trials, sets, strict=True):
            if not cfg.valid(p):
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, objective(ev.get(p)[a:b], cfg.objective, ppy))
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise SettingError(
            f"optimize: none of the {cfg.n_trials} optuna trials of window {window_no} is a"
            " valid parameter set (check the params ranges against the strategy's rules)"
        )
    return dict(study.best_params)


def _suggest(trial: Any, name: str, space: list[Any] | Range) -> Any:
    if isinstance(space, Range):
        if space.ints:
            return trial.suggest_int(name, int(space.low), int(space.high), step=int(space.step))
        return trial.suggest_float(name, space.low, space.high, step=space.step)
    return trial.suggest_categorical(name, space)


def optimize(
    cfg: OptimizeConfig,
    panel: Panel,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Walk-forward optimisation (module docstring); JSON-ready result with the stitched
    out-of-sample equity under ``oos_equity`` (timestamps as ISO strings)."""
    ev = Evaluations(cfg, panel, workers, progress)
    ts = pd.DatetimeIndex(pd.to_datetime(panel.timestamps, unit="ns", utc=True))
    ppy = _ppy(ts)
    n = len(ts) - 1
    rows, oos = [], []
    for k, (a, b, c) in enumerate(
        windows(n, cfg.walk_forward.train_bars, cfg.walk_forward.test_bars)
    ):
        best = _choose(ev, a, b, ppy, k)
        r = ev.get(best)
        oos.append(r[b:c])
        rows.append(
            {
                "window": k,
                "train_start": str(ts[a].date()),
                "test_start": str(ts[b + 1].date()),
                "test_end": str(ts[c].date()),
                "params": best,
                "in_sample": _finite(objective(r[a:b], cfg.objective, ppy)),
                "out_of_sample": _finite(objective(r[b:c], cfg.objective, ppy)),
            }
        )
    stitched = np.concatenate(oos)
    initial = float(cfg.backtest_config([{}]).initial_cash)
    equity = initial * np.cumprod(np.r_[1.0, 1.0 + stitched])
    first_test = windows(n, cfg.walk_forward.train_bars, cfg.walk_forward.test_bars)[0][1]
    eq_index = ts[first_test : first_test + len(equity)]
    return {
        "strategy": cfg.strategy,
        "method": cfg.method,
        "objective": cfg.objective,
        "n_sets": len(ev.returns),
        "engine": ev.engine,
        "windows": rows,
        "oos": _oos_stats(stitched, ppy, ev),
        "oos_equity": {"timestamp": [t.isoformat() for t in eq_index], "equity": equity.tolist()},
    }


def _oos_stats(stitched: FloatArray, ppy: float, ev: Evaluations) -> dict[str, Any]:
    """Sharpe, CAGR, max drawdown, deflated Sharpe (trials: every set evaluated) of the
    stitched out-of-sample returns, and the PBO of all evaluated sets."""
    matrix = np.column_stack(list(ev.returns.values()))
    trials = bs.sharpe_rows(matrix.T, 1.0)
    trials = trials[np.isfinite(trials)]
    row = stitched[None, :]
    shape = return_shape(stitched)
    dsr = deflated_sharpe(
        float(bs.sharpe_rows(row, 1.0)[0]),
        len(stitched),
        float(shape["skew"] or 0.0),
        float(shape["kurtosis"] or 0.0) + 3.0,
        len(ev.returns),
        float(np.var(trials, ddof=1)) if len(trials) > 1 else 0.0,
    )
    blocks = 16 if matrix.shape[0] >= 16 else 2
    return {
        "sharpe": _finite(float(bs.sharpe_rows(row, ppy)[0])),
        "cagr": _finite(float(bs.cagr_rows(row, ppy)[0])),
        "max_drawdown": _finite(float(bs.max_drawdown_rows(row)[0])),
        "deflated_sharpe": _finite(dsr),
        "pbo": pbo(matrix, n_blocks=blocks)["pbo"] if matrix.shape[1] >= 2 else None,
        "n_bars": len(stitched),
    }


def _ppy(ts: pd.DatetimeIndex) -> float:
    from alphapulse.analytics.frequency import observed_periods_per_year

    return float(observed_periods_per_year(ts)) if len(ts) > 2 else 252.0


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
