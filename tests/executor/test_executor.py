"""The executor abstraction: local processes and Ray give the same results as a run in
this process; on Ray the shared panel is put into the object store once per map."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_backtest
from alphapulse.executor import ExecutorConfig, Report, get_executor, local
from alphapulse.executor.local import _POOLS, LocalExecutor, _start_method
from alphapulse.ml.research import ResearchConfig, run_research
from alphapulse.sweep.grid import sweep_mean_reversion, sweep_sma
from tests.executor._tasks import fail_first, fails_on_two, pid_plus

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "GE"]
RESEARCH = Path(__file__).resolve().parents[2] / "examples" / "ml_research.yaml"
STRATEGIES = [
    {"strategy": "buy_and_hold"},
    {"strategy": "sma_cross", "name": "sma", "params": {"fast": 10, "slow": 40}},
]


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel(
        "sp500_daily_2013_2018", SYMBOLS, start="2015-01-01", end="2016-12-31", root=shared_data
    )


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """One local Ray (2 CPUs) for the whole module: it takes seconds to start."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _cfg(executor: dict[str, Any] | None) -> Any:
    raw: dict[str, Any] = {
        "name": "exec",
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
        "strategies": STRATEGIES,
    }
    if executor is not None:
        raw["executor"] = executor
    return parse_config(raw)


def _same_results(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert list(a) == list(b)
    for label in a:
        np.testing.assert_array_equal(a[label].equity, b[label].equity)
        assert len(a[label].fills) == len(b[label].fills) > 0 or label == "buy_and_hold"
        assert [f.price for f in a[label].fills] == [f.price for f in b[label].fills]


def _square(shared: int, item: int, report: Report) -> int:
    if report is not None:
        report("sq", item)
    return shared + item * item


def test_local_map_is_in_order_with_progress() -> None:
    seen: list[tuple[str, int]] = []
    out = LocalExecutor(2).map(_square, list(range(7)), 100, lambda *a: seen.append(a))
    assert out == [100 + i * i for i in range(7)]
    assert sorted(i for _, i in seen) == list(range(7))


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_failed_task_stops_the_rest_of_the_map(
    method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task's error is raised at once, whatever the pool: the tasks not started are
    cancelled and the running ones killed. The fork pool used to run the whole map first
    (minutes of doomed work here, hours for a long backtest), then the tasks already
    running; the fork-server pool left them running after the raise (this process's exit
    waited for them) and a worker starting one after the shared file was removed failed
    on it. Two workers, the failing item first, the others take 30 seconds each."""
    monkeypatch.setattr(local, "_start_method", lambda: method)
    workers = set(mp.active_children())  # (other tests' kept pools)
    with pytest.raises(ValueError, match="item 0 failed"):
        LocalExecutor(2).map(fail_first, list(range(12)), str(tmp_path))
    # the map's workers are gone (a process the pool's own thread reaped first can stay
    # listed by multiprocessing: the OS is asked instead)
    assert not [p for p in set(mp.active_children()) - workers if Path(f"/proc/{p.pid}").exists()]
    assert not list(tmp_path.glob("*.done"))  # none of its tasks ran to its end
    assert len(list(tmp_path.iterdir())) <= 3  # the other worker's item, the queued call
    if method == "forkserver":  # (the fork pool is never kept; another test may keep one)
        assert 2 not in _POOLS  # a failed pool is not reused


def test_config_rejects_bad_values() -> None:
    for bad in ({"kind": "spark"}, {"address": "http://x:1"}, {"num_cpus": 0}, {"x": 1}):
        with pytest.raises(ValidationError):
            ExecutorConfig.model_validate(bad)
    assert ExecutorConfig.model_validate({"address": "ray://head.local:10001"}).kind == "local"


def test_local_processes_equal_in_process(panel: Panel) -> None:
    inline = run_backtest(_cfg(None), panel, workers=1)
    pooled = run_backtest(_cfg({"kind": "local", "num_cpus": 2}), panel, workers=2)
    _same_results(inline, pooled)


def test_no_fork_after_numba_threads(panel: Panel) -> None:
    """The sweep kernels start OpenMP threads; forking after that would crash workers."""
    assert len(sweep_mean_reversion(panel, [10], [1.0], [0.0])) == len(SYMBOLS)
    assert _start_method() == "forkserver"


def test_fork_server_pool_is_kept_across_maps(panel: Panel) -> None:
    """Once numba's threads run (previous test), workers come from a fork server and
    re-import the package; the pool is kept, so a second map reuses the same workers,
    each map gets its own shared object and all of its progress."""
    if _start_method() != "forkserver":
        sweep_mean_reversion(panel, [10], [1.0], [0.0])
    ex = LocalExecutor(2)
    seen: list[tuple[Any, ...]] = []
    first = ex.map(pid_plus, list(range(6)), 100, lambda *a: seen.append(a))
    pool = _POOLS[2][0]
    workers = set(pool._processes)
    second = ex.map(pid_plus, list(range(6)), 200, lambda *a: seen.append(a))
    assert [v for v, _ in first] == [100 + i for i in range(6)]
    assert [v for v, _ in second] == [200 + i for i in range(6)]
    assert _POOLS[2][0] is pool
    assert {p for _, p in first + second} <= workers == set(pool._processes)
    assert os.getpid() not in workers
    assert sorted(seen[:6]) == sorted(seen[6:]) == [("item", i) for i in range(6)]


def test_ray_equals_local(panel: Panel, ray_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    puts: list[type] = []
    real_put = ray_cluster.put

    def counting_put(value: Any, **kw: Any) -> Any:
        puts.append(type(value))
        return real_put(value, **kw)

    monkeypatch.setattr(ray_cluster, "put", counting_put)
    local = run_backtest(_cfg(None), panel, workers=1)
    on_ray = run_backtest(_cfg({"kind": "ray"}), panel)
    _same_results(local, on_ray)
    assert puts == [Panel]  # the panel went into the object store once for 2 tasks

    executor = get_executor(ExecutorConfig(kind="ray"))
    assert executor.workers == 2
    expected = sweep_sma(panel, [5, 10, 20], [30, 60])
    assert len(expected) == len(SYMBOLS) * 6
    assert expected.equals(sweep_sma(panel, [5, 10, 20], [30, 60], executor=executor))
    assert puts == [Panel, Panel]  # one for the sweep, whatever the number of chunks


def test_task_error_is_raised_as_the_task_raised_it(ray_cluster: Any) -> None:
    """A user error in a task reaches the caller as itself, one line (the CLI prints
    ``str(exc)``), locally and on Ray: not Ray's wrapper whose text is the remote
    traceback."""
    for executor in (LocalExecutor(2), get_executor(ExecutorConfig(kind="ray"))):
        with pytest.raises(ConfigError) as info:
            executor.map(fails_on_two, list(range(4)), 100)
        assert str(info.value) == "item 2: bad value", type(executor).__name__
        assert type(info.value) is ConfigError
        assert executor.map(fails_on_two, [0, 1, 3], 100) == [100, 101, 103]


def test_research_walk_forward_on_ray_equals_local(
    panel: Panel, shared_data: Path, ray_cluster: Any
) -> None:
    """The ML walk-forward (a refit per fold) and the gated baselines as Ray tasks give the
    report of the default run: every fold's metrics, refits and drift events."""
    raw = yaml.safe_load(RESEARCH.read_text())
    raw["data"].update(symbols=SYMBOLS, end="2015-09-30", root=str(shared_data))
    raw["walk_forward"].update(n_splits=2, test_size=42)
    raw["ml"]["model"]["params"].update(n_estimators=10, num_leaves=7)
    raw["ml"]["min_train_rows"] = 300
    raw["baselines"] = [{"strategy": "buy_and_hold"}, {"strategy": "sma_cross"}]
    raw["leakage"] = {"canary": False}  # the gate's own tests cover it
    local = run_research(ResearchConfig.model_validate(raw))
    raw["executor"] = {"kind": "ray"}
    on_ray = run_research(ResearchConfig.model_validate(raw))
    assert len(local["folds"]) == 2 and len(local["retrains"]) >= 2
    assert {m["strategy"] for m in local["metrics"]} == {"ml", "buy_and_hold", "sma_cross"}
    for key in ("folds", "retrains", "metrics", "drift_events", "leakage"):
        assert on_ray[key] == local[key], key
    assert on_ray["config"]["executor"] == {"kind": "ray", "address": "auto", "num_cpus": None}


def test_rl_evaluate_folds_on_ray_equal_in_process(ray_cluster: Any) -> None:
    """Each walk-forward fold of ``rl evaluate`` (train, validate, test) as a Ray task gives
    the table of the in-process run."""
    pytest.importorskip("stable_baselines3")
    from alphapulse.rl.evaluate import evaluate
    from tests.rl.conftest import random_walk, rl_config

    data = random_walk(200, 1, seed=3)
    over: dict[str, Any] = {
        "learn": {"total_timesteps": 128, "n_steps": 64, "eval_every": 64},
        "evaluate": {"folds": 2, "train_bars": 100, "valid_bars": 20, "test_bars": 30,
                     "bootstrap": 50, "baselines": [{"strategy": "buy_and_hold"}]},
    }  # fmt: skip
    logged: list[str] = []
    here = evaluate(rl_config(data, 150, 170, **over), data, logged.append)
    on_ray = evaluate(rl_config(data, 150, 170, executor={"kind": "ray"}, **over), data)
    assert [s.split(",")[0] for s in logged[:2]] == ["fold 1/2: 128 steps", "fold 2/2: 128 steps"]
    assert list(here["strategy"]) == ["rl_ppo", "buy_and_hold", "ml"]
    assert (here["bars"] == 60).all()
    pd.testing.assert_frame_equal(here, on_ray)


def test_a_ray_cluster_that_cannot_be_reached_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ray.init`` failing (no cluster there, the client extra missing) was a traceback."""
    ray = pytest.importorskip("ray")

    def refused(*_: Any, **__: Any) -> None:
        raise ConnectionError("Failed to connect to 127.0.0.1:1\n(details)")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refused)
    with pytest.raises(ConfigError) as err:
        get_executor(ExecutorConfig(kind="ray", address="ray://127.0.0.1:1"))
    assert str(err.value) == (
        "executor.address ray://127.0.0.1:1: Ray did not start: Failed to connect to 127.0.0.1:1"
    )
