"""The ``regimes`` table: a recorded hybrid run holds its regime per bar (label,
probabilities per label, bars since the change), the same values as ``regimes.csv``,
on SQLite and PostgreSQL; re-recording adds nothing; a bad frame names its field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.core.errors import DataError
from alphapulse.engine.loop import RunResult
from alphapulse.engine.recording import record_run
from alphapulse.engine.runner import Tables, load_data, run_backtest
from alphapulse.store import Store, runs

RAW = {
    "name": "regimes-rec",
    "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "KO"]},
    "strategies": [
        {
            "strategy": "hybrid",
            "name": "hy",
            "params": {
                "experts": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
                "detector": {"kind": "hmm", "min_train": 120, "refit_every": 250, "n_iter": 5},
                "regimes": {"calm": {}, "high_vol": {"gross": 0.5}},
            },
        }
    ],
}


@pytest.fixture(scope="module")
def hybrid_run(shared_data: Path) -> tuple[BacktestConfig, RunResult, pd.DataFrame]:
    cfg = parse_config({**RAW, "data": {**RAW["data"], "end": "2014-06-30"}})
    tables: dict[str, Tables] = {}
    result = run_backtest(cfg, load_data(cfg), workers=1, tables=tables)["hy"]
    return cfg, result, tables["hy"]["regimes"]


def test_regimes_recorded_like_the_csv(
    store: Store, hybrid_run: tuple[BacktestConfig, RunResult, pd.DataFrame]
) -> None:
    cfg, result, want = hybrid_run
    assert (want["regime"] == "warmup").any() and (want["regime"] != "warmup").any()
    rid = record_run(store, cfg, "hy", result, {}, "d", regimes=want)
    got = store.read_table("regimes", rid).sort_values("ts").reset_index(drop=True)
    assert len(got) == len(want) == len(result.timestamps)
    assert set(got["strategy"]) == {"hy"} and set(got["symbol"]) == {"market"}
    assert got["ts"].tolist() == want["timestamp"].astype("int64").tolist()
    assert got["regime"].tolist() == want["regime"].tolist()
    assert got["bars_since_change"].tolist() == want["bars_since"].tolist()
    warm = want["regime"] == "warmup"
    assert got.loc[warm.to_numpy(), "probabilities"].isna().all()
    for lab in ("calm", "high_vol"):
        p = [d[lab] for d in got.loc[~warm.to_numpy(), "probabilities"]]
        np.testing.assert_allclose(p, want.loc[~warm, f"p_{lab}"], rtol=1e-12, err_msg=lab)
    record_run(store, cfg, "hy", result, {}, "d", run_id=rid, regimes=want)  # upserts
    assert len(store.read_table("regimes", rid)) == len(want)
    plain = record_run(store, cfg, "hy", result, {}, "d")
    assert store.read_table("regimes", plain).empty  # no frame given: no rows


def test_bad_regimes_frame_names_the_field() -> None:
    bad = pd.DataFrame({"timestamp": [1], "symbol": ["SPY"], "regime": ["calm"], "p_calm": [1]})
    with pytest.raises(DataError) as err:
        runs.regime_records(bad, "r", "s")
    assert err.value.field == "bars_since_change"
