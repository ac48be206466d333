"""Strategies run side by side on one data feed stay apart: one writing into its data,
raising or killing its worker fails alone, as one line naming it (never a traceback,
never another strategy's data changed); a kept pool a worker left is not reused."""

from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import AlphaPulseError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_backtest
from alphapulse.executor import local
from alphapulse.executor.local import _POOLS, LocalExecutor
from tests.executor._tasks import exits_on_one, pid_plus

SYMBOLS = ["AAPL", "MSFT", "XOM"]
SMA = {"strategy": "sma_cross", "name": "sma", "params": {"fast": 5, "slow": 20}}


@pytest.fixture()
def panel(shared_data: Path) -> Panel:
    return load_panel(
        "sp500_daily_2013_2018", SYMBOLS, start="2015-01-01", end="2015-12-31", root=shared_data
    )


def _cfg(*strategies: dict[str, Any]) -> Any:
    data = {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS}
    return parse_config({"name": "iso", "data": data, "strategies": list(strategies)})


def _bad(cls: str) -> dict[str, Any]:
    return {"strategy": f"tests.executor._strategies:{cls}", "name": "bad"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_strategy_cannot_change_the_data_of_another(panel: Panel, workers: int) -> None:
    """Every strategy gets read-only views of the one panel. A strategy writing into the
    fields it was handed used to change them for the strategies after it in the same
    process (and for the caller): sma's results then depended on the worker count."""
    close = panel["close"].copy()
    with pytest.raises(AlphaPulseError) as info:
        run_backtest(_cfg(_bad("WritesData"), SMA), panel, workers=workers)
    assert (
        str(info.value) == "strategy 'bad' failed: ValueError: assignment destination is read-only"
    )
    np.testing.assert_array_equal(panel["close"], close)
    assert panel["close"].flags.writeable  # the caller's arrays are left as they were


@pytest.mark.parametrize("workers", [1, 2])
def test_a_strategy_error_is_one_line_naming_it(panel: Panel, workers: int) -> None:
    """Not only platform errors: any error a strategy raises names it, on one line (the
    CLI prints a platform error's text; a ZeroDivisionError used to be a traceback)."""
    with pytest.raises(AlphaPulseError) as info:
        run_backtest(_cfg(SMA, _bad("Raises")), panel, workers=workers)
    assert str(info.value) == "strategy 'bad' failed: ZeroDivisionError: division by zero"
    assert isinstance(info.value.__cause__, Exception)  # the original stays chained


@pytest.mark.parametrize(
    ("cls", "method", "why"),
    [
        ("Exits", "fork", "exited with code 3"),
        ("Killed", "fork", "was killed by SIGKILL (out of memory?)"),
        ("Killed", "forkserver", "was killed by SIGKILL (out of memory?)"),
    ],
)
def test_a_worker_that_dies_names_its_strategy(
    panel: Panel,
    cls: str,
    method: str,
    why: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker ending under a strategy (os._exit, SIGKILL as the OOM killer sends) used
    to be concurrent.futures' BrokenProcessPool, naming no strategy (a traceback in the
    CLI); the map's temporary folder goes too."""
    monkeypatch.setattr(local, "_start_method", lambda: method)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    strategies = (SMA, _bad(cls), {"strategy": "buy_and_hold"})
    with pytest.raises(AlphaPulseError) as info:
        run_backtest(_cfg(*strategies), panel, workers=2)
    assert str(info.value) == f"strategy 'bad': its worker process {why}"
    assert not list(tmp_path.iterdir())
    assert 2 not in _POOLS  # a broken pool is not reused


def test_a_kept_pool_whose_worker_died_between_maps_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kept fork-server pool one of whose idle workers was killed (the OOM killer) is
    broken; every later map of its width used to fail on it with BrokenProcessPool."""
    monkeypatch.setattr(local, "_start_method", lambda: "forkserver")
    ex = LocalExecutor(2)
    pids = {pid for _, pid in ex.map(pid_plus, [0, 1, 2], 0)}
    pool = _POOLS[2][0]
    os.kill(next(iter(pids)), signal.SIGKILL)
    manager: Any = pool._executor_manager_thread  # (typeshed has the wrong type)
    manager.join(timeout=60)  # it sees the death and marks the pool broken
    assert pool._broken
    assert [v for v, _ in ex.map(pid_plus, [0, 1, 2], 10)] == [10, 11, 12]
    assert _POOLS[2][0] is not pool


def test_a_ray_worker_that_dies_names_the_item() -> None:
    """Ray retries a task whose worker died, then raised WorkerCrashedError (whose text
    names no item and is no platform error); now it names the item, on one line."""
    ray = pytest.importorskip("ray")
    from alphapulse.executor import ExecutorConfig, get_executor

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        with pytest.raises(AlphaPulseError, match=r"^a worker process running item 1 was lost"):
            get_executor(ExecutorConfig(kind="ray")).map(exits_on_one, [0, 1, 2], 0)
    finally:
        ray.shutdown()
