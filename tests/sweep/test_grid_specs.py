"""Grid specs of ``sweep_sma`` / ``sweep_mean_reversion``: bad axes are one-line
ValueErrors naming the axis (never truncated, deduplicated after the fact, silently
empty or simulated as something the strategy refuses); a grid too large to hold its
equity curves is refused before anything is built."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.data.panel import Panel
from alphapulse.strategies.mean_reversion import MeanReversion
from alphapulse.sweep import grid
from alphapulse.sweep.grid import MAX_SETS, sweep_mean_reversion, sweep_sma


def _walk(n: int) -> Panel:
    """Two symbols ("A", "B"), ``n`` daily bars of a random walk."""
    rng = np.random.default_rng(0)
    close = 100 + np.cumsum(rng.normal(0, 1, (n, 2)), axis=0)
    fields = {
        "open": close,
        "high": close + 1,
        "low": close - 1,
        "close": close,
        "volume": np.full((n, 2), 1e5),
    }
    ts = (np.arange(n, dtype=np.int64) + 19_000) * 86_400 * 1_000_000_000
    return Panel(ts, ("A", "B"), fields)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return _walk(60)


@pytest.mark.parametrize(
    ("fast", "slow", "needle"),
    [
        ([], [10], "fast: empty grid"),
        ([5], [], "slow: empty grid"),
        ([20], [10], "no pair with fast < slow"),
        ([2.5, 2], [10], r"fast: windows must be whole numbers .* \[2.5\]"),
        ([5, 5], [10], r"fast: duplicate grid values \[5\]"),
        ([float("nan")], [10], "fast: grid values must be finite"),
        ([5], [float("inf")], "slow: grid values must be finite"),
        ([True], [10], "fast: grid values must be finite numbers"),
        (["5"], [10], "fast: grid values must be finite numbers"),
        ([0], [10], "fast: windows must be whole numbers from 1"),
        ([5], [10**12], "slow: windows must be whole numbers from 2 to the panel's 60 bars"),
        (5, [10], "fast: a grid axis must be a sequence"),
    ],
)
def test_bad_sma_grids_are_refused(panel: Panel, fast: Any, slow: Any, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        sweep_sma(panel, fast, slow)


@pytest.mark.parametrize(
    ("window", "entry", "exit_", "needle"),
    [
        ([10], [], [0.0], "entry_z: empty grid"),
        ([10], [float("nan")], [0.0], "entry_z: grid values must be finite"),
        ([10], [1.0], [float("-inf")], "exit_z: grid values must be finite"),
        ([10], [1.0, 1.0], [0.0], r"entry_z: duplicate grid values \[1.0\]"),
        ([1], [1.0], [0.0], "window: windows must be whole numbers from 2"),
        ([10], [0.0, 1.0], [-1.0], "entry_z: grid values must be > 0"),
        ([10], [1.0], [1.0, 2.0], "no set with exit_z < entry_z"),
    ],
)
def test_bad_mean_reversion_grids_are_refused(
    panel: Panel, window: list[int], entry: list[float], exit_: list[float], needle: str
) -> None:
    with pytest.raises(ValueError, match=needle):
        sweep_mean_reversion(panel, window, entry, exit_)


def test_mean_reversion_sets_the_strategy_refuses_are_skipped(panel: Panel) -> None:
    """exit_z >= entry_z is not a mean-reversion strategy (its Params refuse it), so the
    grid leaves those sets out, as sweep_sma leaves out fast >= slow."""
    with pytest.raises(ValidationError, match="exit_z"):
        MeanReversion.Params(window=5, entry_z=1.0, exit_z=1.5)
    df = sweep_mean_reversion(panel, np.array([5]), [1.0, 2.0], [0.0, 1.5], symbols=["B"])
    assert list(zip(df["entry_z"], df["exit_z"], strict=True)) == [
        (1.0, 0.0),
        (2.0, 0.0),
        (2.0, 1.5),
    ]


def test_unknown_or_repeated_symbols_are_named(panel: Panel) -> None:
    with pytest.raises(ValueError, match="symbols not in the panel: ZZZ"):
        sweep_sma(panel, [5], [10], symbols=["A", "ZZZ"])
    with pytest.raises(ValueError, match="symbols: duplicate"):
        sweep_sma(panel, [5], [10], symbols=["A", "A"])


def test_huge_grids_are_refused() -> None:
    """More than MAX_SETS parameter sets is refused (here 1001 x 1000 z levels on three
    bars: cheap to run, but the same axes on years of bars are gigabytes of curves)."""
    short = _walk(3).select(["A"])
    entry = np.linspace(0.01, 10.01, 1001)
    exit_ = -np.linspace(0.0, 9.99, 1000)
    assert len(entry) * len(exit_) > MAX_SETS
    with pytest.raises(ValueError, match="grid too large: 1,001,000 parameter sets x 3 bars"):
        sweep_mean_reversion(short, [2], entry, exit_)


def test_curve_memory_bounds_the_grid(panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each symbol's equity curves are sets x bars float64: a grid whose curves exceed
    MAX_CURVE_CELLS is refused (limit lowered to 1000 cells: 60 bars x 16 sets fit,
    x 17 do not)."""
    monkeypatch.setattr(grid, "MAX_CURVE_CELLS", 1000, raising=False)
    assert len(sweep_sma(panel, [2, 3, 4, 5], [10, 20, 30, 40], symbols=["A"])) == 16
    with pytest.raises(ValueError, match="grid too large: 17 parameter sets x 60 bars"):
        sweep_sma(panel, list(range(2, 19)), [20], symbols=["A"])


def test_an_axis_is_read_no_further_than_the_limit(
    panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An axis longer than MAX_SETS is refused after reading one value past it: an
    axis such as ``range(1, 10**12)`` was first built in memory as a whole list."""
    monkeypatch.setattr(grid, "MAX_SETS", 1000, raising=False)

    def endless() -> Iterator[int]:
        for i in itertools.count(1):
            assert i <= 1001, "read past the limit"
            yield i

    with pytest.raises(ValueError, match="grid too large: fast has more than 1,000 values"):
        sweep_sma(panel, endless(), [10])


def test_bad_values_are_listed_briefly(panel: Panel) -> None:
    """A long axis of bad values is named by its first few and their count (it was
    every value: a 10 MB message for a million)."""
    with pytest.raises(ValueError) as err:
        sweep_sma(panel, range(61, 100_000), [10])
    assert str(err.value) == (
        "fast: windows must be whole numbers from 1 to the panel's 60 bars, "
        "got [61.0, 62.0, 63.0, 64.0, 65.0, ...] (99,939 values)"
    )
