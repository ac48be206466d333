"""Walk-forward parameter optimisation of one strategy.

Every parameter set runs once over the whole panel (causal, so its returns up to bar t
are what a run that stopped at t would give): in the numba kernel of ``sweep.compiled``
when it supports the strategy and settings (``engine: auto``), else in the event engine.
The bars are cut into windows of ``train_bars`` followed by ``test_bars``, rolled by
``test_bars``; in each window the set with the best in-sample objective (grid: all sets;
optuna: a TPE study of ``n_trials`` sets over the same space) is chosen and its
out-of-sample returns are stitched into one equity curve. The choice is judged by the
deflated Sharpe of the stitched curve (trials: every set evaluated) and the PBO (CSCV) of
all evaluated sets, and against a buy-and-hold baseline over the same bars.

Where the chosen set changes (and at the first test window, from cash) the stitched book
trades from the old set's holdings to the new set's: each set's holdings at the last
training bar's close (its fills' units per unit of its own equity) are scaled to the
stitched equity, and the difference is charged as one taker fill per symbol through the
run's commission and slippage models, at the price the run's own orders get (the next
bar's open, or this close with ``fill_at: close``), without lot rounding, cash checks or
participation caps (:class:`SwitchCost`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics import bootstrap as bs
from alphapulse.analytics.metrics import simple_returns
from alphapulse.analytics.optimize_config import OptimizeConfig, Range
from alphapulse.analytics.overfitting import deflated_sharpe, pbo
from alphapulse.analytics.robustness import return_shape
from alphapulse.config import BacktestConfig
from alphapulse.core.errors import ConfigError, SettingError
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.runner import run_backtest
from alphapulse.execution.slippage import SquareRootImpact
from alphapulse.execution.volatility import EwmaVolatility
from alphapulse.model.orders import Side

FloatArray = npt.NDArray[np.float64]
Key = tuple[tuple[str, Any], ...]
Progress = Callable[[int, int], None]
#: Optuna trials asked at once: their parameter sets run as one batch (one executor map
#: of the event engine, ``backtest.executor``); fixed, so results do not depend on workers.
TRIAL_BATCH = 8


@dataclass
class Evaluations:
    """Per-bar returns of every parameter set run so far (keyed by its sorted items),
    and its units per unit of equity at the closes of ``bars`` ([len(bars), N], for the
    switching costs: :func:`units_per_equity`)."""

    cfg: OptimizeConfig
    panel: Panel
    workers: int | None = None
    progress: Progress | None = None
    returns: dict[Key, FloatArray] = field(default_factory=dict)
    engine: str = "event"
    bars: list[int] = field(default_factory=list)
    held: dict[Key, FloatArray] = field(default_factory=dict)

    def run(self, sets: list[dict[str, Any]]) -> None:
        fresh = {_key(p): p for p in sets if _key(p) not in self.returns}  # each set once
        todo = list(fresh.values())
        for i in range(0, len(todo), 8):  # in batches, so progress moves
            batch = todo[i : i + 8]
            results = self._run(batch)
            for p, r in zip(batch, results.values(), strict=True):
                self.returns[_key(p)] = simple_returns(np.asarray(r.equity, dtype=np.float64))
                self.held[_key(p)] = units_per_equity(r, self.bars, self.panel.n_symbols)
            if self.progress is not None:
                self.progress(len(self.returns), len(self.returns) + len(todo) - i - len(batch))

    def _run(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        self.engine, results = backtest(self.cfg.backtest_config(batch), self.panel, self)
        return results

    def get(self, params: dict[str, Any]) -> FloatArray:
        self.run([params])
        return self.returns[_key(params)]


def _key(params: dict[str, Any]) -> Key:
    return tuple(sorted(params.items()))


def backtest(cfg: BacktestConfig, panel: Panel, ev: Evaluations) -> tuple[str, dict[str, Any]]:
    """(engine used, results): the numba kernel (``sweep.compiled``) when it supports the
    strategy and execution settings (``ev.cfg.engine`` auto/compiled), else the event
    engine."""
    if ev.cfg.engine != "event":
        from alphapulse.sweep.compiled import run_compiled_backtest

        try:
            return "compiled", dict(run_compiled_backtest(cfg, panel))
        except ConfigError:
            if ev.cfg.engine == "compiled":
                raise
    return "event", dict(run_backtest(cfg, panel, workers=ev.workers))


def units_per_equity(result: Any, bars: list[int], n_symbols: int) -> FloatArray:
    """[len(bars), N] position / equity of a run at each bar's close, from its fills (both
    engines log them with their bar); zero where the run's equity is not positive."""
    fills = result.fills
    at = np.fromiter((f.bar_index for f in fills), np.int64, len(fills))
    sid = np.fromiter((f.sid for f in fills), np.int64, len(fills))
    qty = np.fromiter((f.signed_qty for f in fills), np.float64, len(fills))
    equity = np.asarray(result.equity, dtype=np.float64)
    out = np.zeros((len(bars), n_symbols))
    for i, b in enumerate(bars):
        if equity[b] > 0:
            done = at <= b
            out[i] = np.bincount(sid[done], weights=qty[done], minlength=n_symbols) / equity[b]
    return out


@dataclass(frozen=True)
class SwitchCost:
    """Fees and slippage of trading the stitched book between two sets' holdings at the
    close of bar ``b`` (module docstring): per symbol, ``q`` units on its side at the
    run's reference price ``ref``, the executed price ``px`` from the slippage model
    (volatility and bar volume as the venue sees them), cost ``fee(q, px) + q|px - ref|``.
    ``bars``: the switch bars to come, whose volatilities are estimated in one pass."""

    cfg: BacktestConfig
    panel: Panel
    bars: tuple[int, ...] = ()

    def __call__(self, before: FloatArray, after: FloatArray, b: int, equity: float) -> float:
        units = equity * (after - before)
        t = self._fill_bar(b)
        ref = self._reference(b, t)
        vol = self._volatility(t)
        volume = self.panel["volume"][t]
        commission, slippage = self._models
        total = 0.0
        for s in np.flatnonzero((units != 0) & np.isfinite(ref)).tolist():
            q, side = abs(float(units[s])), Side.BUY if units[s] > 0 else Side.SELL
            px = slippage.price(side, float(ref[s]), q, float(volume[s]), float(vol[s]))
            total += commission.fee(q, px, "taker") + q * abs(px - float(ref[s]))
        return total

    def _fill_bar(self, b: int) -> int:
        """The bar a trade decided at bar ``b``'s close fills in."""
        return b + 1 if self.cfg.fill_at == "next_open" else b

    def _reference(self, b: int, t: int) -> FloatArray:
        """Bar ``t``'s open (next_open; the last close where it has none), else the close."""
        close: FloatArray = forward_fill(self.panel["close"][: b + 1])[-1]
        if t == b:
            return close
        o = self.panel["open"][t]
        return np.where(np.isfinite(o) & (o > 0), o, close)

    @cached_property
    def _models(self) -> tuple[Any, Any]:
        return self.cfg.execution.build_commission(), self.cfg.execution.build_slippage()

    def _volatility(self, t: int) -> FloatArray:
        """The venue's EWMA volatility before bar ``t`` (NaN unless the slippage uses it)."""
        if not isinstance(self._models[1], SquareRootImpact):
            return np.full(self.panel.n_symbols, np.nan)
        if t not in self._vols:
            self._vols.update(volatility_before(self.panel["close"], [t]))
        return self._vols[t]

    @cached_property
    def _vols(self) -> dict[int, FloatArray]:
        return volatility_before(self.panel["close"], [self._fill_bar(b) for b in self.bars])


def volatility_before(close: FloatArray, bars: list[int]) -> dict[int, FloatArray]:
    """The venue's EWMA volatility (``EwmaVolatility``) before each of ``bars``, from the
    rows of ``close`` [T, N] in one forward pass."""
    ewma, done, out = EwmaVolatility(close.shape[1]), 0, {}
    for t in sorted(set(bars)):
        for row in close[done:t]:
            ewma.update(np.asarray(row, dtype=np.float64))
        done = t
        out[t] = np.array([ewma.get(s) for s in range(close.shape[1])])
    return out


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
    out-of-sample equity, after switching costs, and buy and hold's under ``oos_equity``
    (timestamps as ISO strings)."""
    ts = pd.DatetimeIndex(pd.to_datetime(panel.timestamps, unit="ns", utc=True))
    ppy = _ppy(ts)  # for the whole run's statistics, reported at its end
    wins = windows(len(ts) - 1, cfg.walk_forward.train_bars, cfg.walk_forward.test_bars)
    # a window's choice annualises with the bars known at its last training bar only
    known = [_ppy(ts[: b + 1]) for _, b, _ in wins]
    ev = Evaluations(cfg, panel, workers, progress, bars=[b for _, b, _ in wins])
    chosen = [_choose(ev, a, b, known[k], k) for k, (a, b, _) in enumerate(wins)]
    base_cfg = cfg.baseline_config()  # the settings every set runs with
    initial = float(base_cfg.initial_cash)
    stitched, costs = stitch(ev, wins, chosen, SwitchCost(base_cfg, panel, tuple(ev.bars)), initial)
    rows = _rows(ev, ts, wins, chosen, costs, stitched, known)
    equity = initial * np.cumprod(np.r_[1.0, 1.0 + stitched])
    engine = ev.engine
    base_engine, base = buy_and_hold(ev, base_cfg, wins[0][1], wins[-1][2])
    eq_index = ts[wins[0][1] : wins[0][1] + len(equity)]
    return {
        "strategy": cfg.strategy,
        "method": cfg.method,
        "objective": cfg.objective,
        "n_sets": len(ev.returns),
        "engine": engine,
        "windows": rows,
        "oos": {**_oos_stats(stitched, ppy, ev), "switching_cost": float(sum(costs))},
        "baseline": {"buy_and_hold": {**_stats(base, ppy), "engine": base_engine}},
        "oos_equity": {
            "timestamp": [t.isoformat() for t in eq_index],
            "equity": equity.tolist(),
            "buy_and_hold": (initial * np.cumprod(np.r_[1.0, 1.0 + base])).tolist(),
        },
    }


def _rows(
    ev: Evaluations,
    ts: pd.DatetimeIndex,
    wins: list[tuple[int, int, int]],
    chosen: list[dict[str, Any]],
    costs: list[float],
    stitched: FloatArray,
    known: list[float],
) -> list[dict[str, Any]]:
    """One row per window: dates, chosen set, in- and out-of-sample objective (after
    the switching cost; both annualised with ``known[k]``, the bars per year the choice
    used) and the switching cost charged."""
    rows, first, kind = [], 0, ev.cfg.objective
    for k, ((a, b, c), best, cost, ppy) in enumerate(zip(wins, chosen, costs, known, strict=True)):
        oos = stitched[first : first + c - b]
        rows.append(
            {
                "window": k,
                "train_start": str(ts[a].date()),
                "test_start": str(ts[b + 1].date()),
                "test_end": str(ts[c].date()),
                "params": best,
                "in_sample": _finite(objective(ev.get(best)[a:b], kind, ppy)),
                "out_of_sample": _finite(objective(oos, kind, ppy)),
                "switch_cost": cost,
            }
        )
        first += c - b
    return rows


def stitch(
    ev: Evaluations,
    wins: list[tuple[int, int, int]],
    chosen: list[dict[str, Any]],
    switch: SwitchCost,
    initial: float,
) -> tuple[FloatArray, list[float]]:
    """The chosen sets' test returns in turn, each window's first return less the cost of
    switching into its set (none when the set is the last window's; from cash in the
    first) over the stitched equity, and those costs."""
    held = ev.held
    before = np.zeros(ev.panel.n_symbols)  # the first window starts from cash
    equity, last = initial, None
    parts, costs = [], []
    for i, ((_, b, c), p) in enumerate(zip(wins, chosen, strict=True)):
        r = ev.get(p)[b:c].copy()
        cost = 0.0
        if _key(p) != last and equity > 0:
            cost = switch(before, held[_key(p)][i], b, equity)
            r[0] -= cost / equity
        parts.append(r)
        costs.append(cost)
        equity *= float(np.prod(1.0 + r))
        last = _key(p)
        if i + 1 < len(wins):
            before = held[last][i + 1]
    return np.concatenate(parts), costs


def buy_and_hold(
    ev: Evaluations, cfg: BacktestConfig, first: int, stop: int
) -> tuple[str, FloatArray]:
    """(engine, returns) of the platform's ``buy_and_hold`` (``cfg``) through the same
    backtest path, on the panel's bars ``first`` to ``stop`` only: it first decides at bar
    ``first``'s close, where the first window's set is bought, so its entry costs fall
    inside the span (its first return is taken from the initial cash, so a
    ``fill_at: close`` entry at that close is charged too)."""
    part = Panel(
        ev.panel.timestamps[first : stop + 1],
        ev.panel.symbols,
        {k: v[first : stop + 1] for k, v in ev.panel.fields.items()},
    )
    engine, results = backtest(cfg, part, ev)
    equity = np.asarray(next(iter(results.values())).equity, dtype=np.float64)
    return engine, simple_returns(np.r_[cfg.initial_cash, equity[1:]])


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
        **_stats(stitched, ppy),
        "deflated_sharpe": _finite(dsr),
        "pbo": pbo(matrix, n_blocks=blocks)["pbo"] if matrix.shape[1] >= 2 else None,
    }


def _stats(r: FloatArray, ppy: float) -> dict[str, Any]:
    """Sharpe, CAGR, max drawdown and number of the per-bar returns ``r``."""
    row = r[None, :]
    return {
        "sharpe": _finite(float(bs.sharpe_rows(row, ppy)[0])),
        "cagr": _finite(float(bs.cagr_rows(row, ppy)[0])),
        "max_drawdown": _finite(float(bs.max_drawdown_rows(row)[0])),
        "n_bars": len(r),
    }


def _ppy(ts: pd.DatetimeIndex) -> float:
    from alphapulse.analytics.frequency import observed_periods_per_year

    return float(observed_periods_per_year(ts)) if len(ts) > 2 else 252.0


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
