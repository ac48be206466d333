"""Parameter sweeps over a Panel: every symbol is its own single-symbol, all-in portfolio
and every parameter set of the grid is simulated by the numba kernels in
:mod:`alphapulse.sweep.kernels`, with the event engine's semantics (the parity tests in
``tests/sweep`` run both). The engine configuration this equals: ``initial_cash``,
``execution: {commission: {model: percent, rate}, slippage: {model: fixed_bps, bps}}``
(rate 0 / bps 0 equal the ``none`` models), defaults otherwise (``fill_at: next_open``,
``lot_size: 1``, no participation cap, no latency, no shorting), no risk limits.

``align`` picks the rows a symbol is simulated on:

- ``"own"`` (default): the rows where the symbol has data (any field present), i.e. the
  engine run with ``data.symbols: [symbol]`` (``load_panel(source, [symbol])``);
- ``"panel"``: every row of the panel's time axis, i.e. the engine run on
  ``panel.select([symbol])``: rows without a bar carry the last close forward and count
  in the indicator windows, and orders wait for the next row with a bar.
"""

from __future__ import annotations

import collections
import functools
import itertools
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.data.panel import Panel
from alphapulse.engine.feed import forward_fill
from alphapulse.executor.base import Executor, Report
from alphapulse.sweep import kernels
from alphapulse.sweep.metrics import sharpe_ratios, total_returns

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Align = Literal["own", "panel"]

_DEFAULT_PPY = 252.0  # engine.outputs uses it when fewer than two bars
_COLUMNS = ["final_equity", "total_return", "sharpe", "n_fills", "fees"]
MAX_SETS = 1_000_000  # parameter sets (grid points) per symbol
MAX_CURVE_CELLS = 2**27  # sets x bars of one symbol's equity curves (1 GiB of float64)
_LISTED = 5  # grid values an error message lists


@dataclass(frozen=True)
class SymbolBars:
    """One symbol's rows as the kernels read them (contiguous float64 / bool)."""

    symbol: str
    timestamps: IntArray
    open: FloatArray
    close: FloatArray  # NaN where the row has no close
    prices: FloatArray  # close carried forward (the engine's ``Context.prices``)
    fillable: BoolArray  # open, high, low and close all present: a market order can fill

    @classmethod
    def from_panel(cls, panel: Panel, symbol: str, align: Align = "own") -> SymbolBars:
        j = panel.symbols.index(symbol)
        if align == "own":
            rows = np.zeros(panel.n_bars, dtype=bool)
            for arr in panel.fields.values():
                rows |= ~np.isnan(arr[:, j])
        elif align == "panel":
            rows = np.ones(panel.n_bars, dtype=bool)
        else:
            raise ValueError(f"align must be 'own' or 'panel', got {align!r}")

        def col(name: str) -> FloatArray:
            return np.ascontiguousarray(panel.fields[name][rows, j], dtype=np.float64)

        o, h, lo, c = col("open"), col("high"), col("low"), col("close")
        return cls(
            symbol=symbol,
            timestamps=np.ascontiguousarray(panel.timestamps[rows], dtype=np.int64),
            open=o,
            close=c,
            prices=np.ascontiguousarray(forward_fill(c[:, None])[:, 0]),
            fillable=~(np.isnan(o) | np.isnan(h) | np.isnan(lo) | np.isnan(c)),
        )

    @property
    def n_bars(self) -> int:
        return int(self.timestamps.shape[0])

    def periods_per_year(self) -> float:
        """Bars per year inferred from the timestamps (252 with fewer than two)."""
        if self.n_bars < 2:
            return _DEFAULT_PPY
        return observed_periods_per_year(
            pd.DatetimeIndex(pd.to_datetime(self.timestamps, utc=True))
        )


@dataclass(frozen=True)
class SweepRuns:
    """Kernel output for one symbol, one entry per parameter set."""

    final_equity: FloatArray
    n_fills: IntArray
    fees: FloatArray
    curves: FloatArray | None  # [sets, bars] equity after each row, when asked for


@dataclass(frozen=True)
class Costs:
    """Account and cost settings shared by all runs of a sweep."""

    initial_cash: float = 100_000.0
    commission_rate: float = 0.0005  # percent model: fee = rate x price x quantity
    slippage_bps: float = 1.0  # fixed_bps model

    def __post_init__(self) -> None:
        if not (self.initial_cash > 0 and math.isfinite(self.initial_cash)):
            raise ValueError(f"initial_cash must be > 0, got {self.initial_cash}")
        for name in ("commission_rate", "slippage_bps"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")


def _listed(values: Sequence[float]) -> str:
    """``values`` in an error message: the first few, and how many when there are more."""
    if len(values) <= _LISTED:
        return str(list(values))
    return f"{str(list(values[:_LISTED]))[:-1]}, ...] ({len(values):,} values)"


def _grid(values: Iterable[float], name: str) -> list[float]:
    """One axis of a grid: a non-empty sequence of distinct finite numbers, read no
    further than one past ``MAX_SETS`` (a longer axis alone is too many sets)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError(f"{name}: a grid axis must be a sequence of numbers, got {values!r}")
    out = list(itertools.islice(values, MAX_SETS + 1))
    if len(out) > MAX_SETS:
        raise ValueError(f"grid too large: {name} has more than {MAX_SETS:,} values")
    if not out:
        raise ValueError(f"{name}: empty grid")
    for v in out:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"{name}: grid values must be finite numbers, got {v!r}")
    if len(set(out)) != len(out):
        dupes = sorted(v for v, k in collections.Counter(out).items() if k > 1)
        raise ValueError(f"{name}: duplicate grid values {_listed(dupes)}")
    return [float(v) for v in out]


def _windows(values: Iterable[int], name: str, least: int, n_bars: int) -> list[int]:
    """A grid axis of window lengths: whole numbers from ``least`` to ``n_bars``."""
    out = _grid(values, name)
    bad = [v for v in out if not v.is_integer() or not least <= v <= n_bars]
    if bad:
        raise ValueError(
            f"{name}: windows must be whole numbers from {least} to the panel's "
            f"{n_bars} bars, got {_listed(bad)}"
        )
    return [int(v) for v in out]


def _check_size(n_sets: int, n_bars: int) -> None:
    """Refuse a grid whose per-symbol equity curves ([sets, bars] float64) cannot fit."""
    if n_sets > MAX_SETS or n_sets * n_bars > MAX_CURVE_CELLS:
        raise ValueError(
            f"grid too large: {n_sets:,} parameter sets x {n_bars:,} bars (at most "
            f"{MAX_SETS:,} sets and {MAX_CURVE_CELLS:,} equity-curve cells per symbol)"
        )


def _names(panel: Panel, symbols: Sequence[str] | None) -> list[str]:
    names = list(panel.symbols if symbols is None else symbols)
    unknown = [s for s in dict.fromkeys(names) if s not in panel.symbols]
    if unknown:
        raise ValueError(f"symbols not in the panel: {', '.join(map(str, unknown))}")
    if len(set(names)) != len(names):
        raise ValueError("symbols: duplicate names")
    return names


def _curve_buffer(n_sets: int, n_bars: int, curves: bool) -> FloatArray:
    return np.empty((n_sets, n_bars) if curves else (0, 0))


def _bounded_ok(prices: FloatArray) -> bool:
    """Whether :func:`kernels.rolling_means_bounded` applies: NaN only before the first
    price, then finite prices >= 0."""
    valid = ~np.isnan(prices)
    tail = prices[int(np.argmax(valid)) :] if valid.any() else prices[:0]
    return bool(np.all(np.isfinite(tail)) and np.all(tail >= 0))


def run_sma_cross(
    bars: SymbolBars,
    fast: Sequence[int],
    slow: Sequence[int],
    costs: Costs | None = None,
    *,
    curves: bool = False,
    exact: bool = False,
) -> SweepRuns:
    """SMA crossover for the pairs ``zip(fast, slow)`` (each needs fast < slow).
    ``exact`` computes every mean by pairwise summation instead of bounded rolling sums
    (same results, slower; for checking)."""
    costs = costs or Costs()
    fa, sl = np.asarray(fast, dtype=np.int64), np.asarray(slow, dtype=np.int64)
    if fa.shape != sl.shape or fa.ndim != 1:
        raise ValueError("fast and slow must be 1-D sequences of the same length")
    if np.any(fa < 1) or np.any(fa >= sl):
        raise ValueError("each pair needs 1 <= fast < slow")
    windows = np.unique(np.concatenate([fa, sl]))
    if exact or not _bounded_ok(bars.prices):
        means = kernels.rolling_means(bars.prices, windows)
        err = np.zeros_like(means)
    else:
        means, err = kernels.rolling_means_bounded(bars.prices, windows)
    buf = _curve_buffer(len(fa), bars.n_bars, curves)
    final, n_fills, fees = kernels.sma_cross_sweep(
        bars.open,
        bars.close,
        bars.fillable,
        bars.prices,
        windows,
        means,
        err,
        np.searchsorted(windows, fa),
        np.searchsorted(windows, sl),
        costs.initial_cash,
        costs.commission_rate,
        costs.slippage_bps,
        buf,
    )
    return SweepRuns(final, n_fills, fees, buf if curves else None)


def run_mean_reversion(
    bars: SymbolBars,
    window: Sequence[int],
    entry_z: Sequence[float],
    exit_z: Sequence[float],
    costs: Costs | None = None,
    *,
    curves: bool = False,
) -> SweepRuns:
    """Long-only mean reversion for the sets ``zip(window, entry_z, exit_z)``."""
    costs = costs or Costs()
    win = np.asarray(window, dtype=np.int64)
    ez = np.ascontiguousarray(entry_z, dtype=np.float64)
    xz = np.ascontiguousarray(exit_z, dtype=np.float64)
    if not (win.ndim == 1 and win.shape == ez.shape == xz.shape):
        raise ValueError("window, entry_z and exit_z must be 1-D sequences of the same length")
    if np.any(win < 1):
        raise ValueError("windows must be >= 1")
    windows = np.unique(win)
    z = kernels.rolling_zscores(bars.prices, windows)
    buf = _curve_buffer(len(win), bars.n_bars, curves)
    final, n_fills, fees = kernels.mean_reversion_sweep(
        bars.open,
        bars.close,
        bars.fillable,
        z,
        np.searchsorted(windows, win),
        ez,
        xz,
        costs.initial_cash,
        costs.commission_rate,
        costs.slippage_bps,
        buf,
    )
    return SweepRuns(final, n_fills, fees, buf if curves else None)


def _rows(runs: SweepRuns, costs: Costs, ppy: float) -> dict[str, npt.NDArray[np.generic]]:
    assert runs.curves is not None
    return {
        "final_equity": runs.final_equity,
        "total_return": total_returns(runs.final_equity, costs.initial_cash),
        "sharpe": sharpe_ratios(runs.curves, ppy),
        "n_fills": runs.n_fills,
        "fees": runs.fees,
    }


class _PpyCache:
    """Bars per year for each symbol: the given value, else inferred from its rows
    (once for all symbols that have every row of the panel)."""

    def __init__(self, panel: Panel, given: float | None) -> None:
        self._n = panel.n_bars
        self._value = given
        self._full: float | None = None
        if given is not None and not (given > 0 and math.isfinite(given)):
            raise ValueError(f"periods_per_year must be positive, got {given}")

    def __call__(self, bars: SymbolBars) -> float:
        if self._value is not None:
            return self._value
        if bars.n_bars != self._n:
            return bars.periods_per_year()
        if self._full is None:
            self._full = bars.periods_per_year()
        return self._full


@dataclass(frozen=True)
class _Chunk:
    """How each symbol of a sweep runs (picklable: shipped to executor workers)."""

    run: Callable[[SymbolBars], SweepRuns]
    costs: Costs
    align: Align
    periods_per_year: float | None


def _chunk_task(
    panel: Panel, job: tuple[_Chunk, list[str]], report: Report
) -> list[dict[str, npt.NDArray[np.generic]]]:
    """The result rows of one chunk of symbols (an executor task)."""
    spec, names = job
    ppy = _PpyCache(panel, spec.periods_per_year)
    parts = []
    for sym in names:
        bars = SymbolBars.from_panel(panel, sym, spec.align)
        parts.append(_rows(spec.run(bars), spec.costs, ppy(bars)))
    return parts


def _symbol_parts(
    panel: Panel, names: list[str], spec: _Chunk, executor: Executor | None
) -> list[dict[str, npt.NDArray[np.generic]]]:
    """Rows per symbol in ``names`` order, in this process or as executor chunks
    (about two per worker)."""
    if executor is None or len(names) < 2:
        return _chunk_task(panel, (spec, names), None)
    n = min(len(names), 2 * executor.workers)
    chunks = [names[i::n] for i in range(n)]
    out = executor.map(_chunk_task, [(spec, c) for c in chunks], panel)
    by_symbol = {
        sym: part
        for c, parts in zip(chunks, out, strict=True)
        for sym, part in zip(c, parts, strict=True)
    }
    return [by_symbol[sym] for sym in names]


def _frame(
    params: Mapping[str, Sequence[object]], parts: list[dict[str, npt.NDArray[np.generic]]]
) -> pd.DataFrame:
    data: dict[str, object] = dict(params)
    for col in _COLUMNS:
        data[col] = np.concatenate([p[col] for p in parts]) if parts else np.empty(0)
    return pd.DataFrame(data)


def sweep_sma(
    panel: Panel,
    fast: Sequence[int],
    slow: Sequence[int],
    *,
    initial_cash: float = 100_000.0,
    commission_rate: float = 0.0005,
    slippage_bps: float = 1.0,
    symbols: Sequence[str] | None = None,
    align: Align = "own",
    periods_per_year: float | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """SMA crossover over the grid ``fast x slow`` (pairs with fast >= slow skipped) for
    each symbol (all of the panel's by default). One row per (symbol, fast, slow):
    final_equity, total_return, sharpe (per-bar returns, ``periods_per_year`` inferred
    per symbol when None), n_fills, fees. ``executor``: symbols run in chunks there
    (``alphapulse.executor``; same rows as a run in this process). A ValueError names
    a bad grid: an empty axis, a duplicate or non-finite value, a window that is not a
    whole number within the panel's bars, no valid pair, more than ``MAX_SETS`` sets
    or ``MAX_CURVE_CELLS`` curve cells per symbol, an unknown or repeated symbol."""
    costs = Costs(initial_cash, commission_rate, slippage_bps)
    n = panel.n_bars
    fast_w, slow_w = _windows(fast, "fast", 1, n), _windows(slow, "slow", 2, n)
    _check_size(len(fast_w) * len(slow_w), n)
    pairs = [(f, s) for f, s in itertools.product(fast_w, slow_w) if f < s]
    if not pairs:
        raise ValueError(
            f"no pair with fast < slow in fast {_listed(fast_w)} x slow {_listed(slow_w)}"
        )
    fa, sl = [p[0] for p in pairs], [p[1] for p in pairs]
    names = _names(panel, symbols)
    run = functools.partial(run_sma_cross, fast=fa, slow=sl, costs=costs, curves=True)
    parts = _symbol_parts(panel, names, _Chunk(run, costs, align, periods_per_year), executor)
    params: dict[str, Sequence[object]] = {
        "symbol": [s for s in names for _ in pairs],
        "fast": fa * len(names),
        "slow": sl * len(names),
    }
    return _frame(params, parts)


def sweep_mean_reversion(
    panel: Panel,
    window: Sequence[int],
    entry_z: Sequence[float],
    exit_z: Sequence[float],
    *,
    initial_cash: float = 100_000.0,
    commission_rate: float = 0.0005,
    slippage_bps: float = 1.0,
    symbols: Sequence[str] | None = None,
    align: Align = "own",
    periods_per_year: float | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Long-only mean reversion (``strategies.mean_reversion``, ``short: false``) over the
    grid ``window x entry_z x exit_z`` (sets with exit_z >= entry_z skipped, as the
    strategy refuses them); one row per (symbol, window, entry_z, exit_z) with the
    columns of :func:`sweep_sma`. Bad grids are refused as there (windows >= 2, as the
    strategy's; entry_z > 0)."""
    costs = Costs(initial_cash, commission_rate, slippage_bps)
    wins = _windows(window, "window", 2, panel.n_bars)
    entries, exits = _grid(entry_z, "entry_z"), _grid(exit_z, "exit_z")
    if min(entries) <= 0:
        raise ValueError(f"entry_z: grid values must be > 0, got {_listed(entries)}")
    _check_size(len(wins) * len(entries) * len(exits), panel.n_bars)
    sets = [(w, e, x) for w, e, x in itertools.product(wins, entries, exits) if x < e]
    if not sets:
        raise ValueError(
            f"no set with exit_z < entry_z in entry_z {_listed(entries)} x exit_z {_listed(exits)}"
        )
    win, ez, xz = [s[0] for s in sets], [s[1] for s in sets], [s[2] for s in sets]
    names = _names(panel, symbols)
    run = functools.partial(
        run_mean_reversion, window=win, entry_z=ez, exit_z=xz, costs=costs, curves=True
    )
    parts = _symbol_parts(panel, names, _Chunk(run, costs, align, periods_per_year), executor)
    params: dict[str, Sequence[object]] = {
        "symbol": [s for s in names for _ in sets],
        "window": win * len(names),
        "entry_z": ez * len(names),
        "exit_z": xz * len(names),
    }
    return _frame(params, parts)
