"""The hybrid strategy in the engine: bad configs name their key, no look-ahead for
regimes, weights and orders, regime changes as events at the next decision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import Tables, run_backtest
from alphapulse.ml.leakage import Perturbation, perturb_after
from tests.engine.test_engine_invariants import _decisions_until

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PG"]
EXPERTS = [
    {"strategy": "sma_cross", "name": "trend", "params": {"fast": 10, "slow": 40}},
    {"strategy": "mean_reversion", "name": "revert", "params": {"window": 10, "entry_z": 1.0}},
    {"strategy": "momentum", "name": "mom", "params": {"lookback": 40, "rebalance_every": 5}},
]
HMM = {"kind": "hmm", "n_states": 2, "min_train": 120, "refit_every": 150, "n_iter": 10}
RULES = {
    "calm": {"weights": {"trend": 1, "revert": 0.5, "mom": 1}},
    "high_vol": {
        "weights": {"trend": 0.5, "revert": 1, "mom": 0.5},
        "gross": 0.5,
        "stop": 0.05,
        "execution": "limit",
    },
}


def _params(**over: object) -> dict:
    return {"experts": EXPERTS, "detector": HMM, "regimes": RULES, **over}


def _cfg(params: dict) -> dict:
    return {
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
        "initial_cash": 100_000.0,
        "execution": {
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 5},
        },
        "strategies": [{"strategy": "hybrid", "params": params}],
    }


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2015-12-31")


def _run(panel: Panel, params: dict) -> tuple:
    tables: dict[str, Tables] = {}
    r = next(
        iter(run_backtest(parse_config(_cfg(params)), panel, workers=1, tables=tables).values())
    )
    return r, tables["hybrid"]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        (_params(experts=[*EXPERTS, {"strategy": "nope"}]), "unknown strategy 'nope'"),
        (_params(regimes={"calm": RULES["calm"]}), "regimes: missing regime 'high_vol'"),
        (_params(regimes={**RULES, "trend_down": {}}), "regimes.trend_down: not a label"),
        (
            _params(detector={**HMM, "labels": ["calm", "high_vol", "chop"]}),
            "labels: 3 labels for 2",
        ),
        (
            _params(regimes={**RULES, "calm": {"weights": {"x": 1}}}),
            "regimes.calm.weights.x: unknown",
        ),
    ],
)
def test_bad_config_names_the_key(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("(", r"\(")):
        parse_config(_cfg(params))


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(_cfg(_params(regimes={"calm": RULES["calm"]}))))
    proc = subprocess.run(
        [sys.executable, "-c", "from alphapulse.cli import main; main()", "backtest", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "regimes: missing regime 'high_vol'" in proc.stderr


def test_a_proxy_outside_the_universe_is_a_config_error(panel: Panel) -> None:
    """Checked at the first decision (the universe may be a whole dataset): one line
    naming ``detector.proxy``, not an IndexError traceback."""
    params = _params(detector={"kind": "vol", "proxy": "SPY"})
    with pytest.raises(ConfigError, match=r"detector.proxy 'SPY' is not a symbol"):
        _run(panel, params)


@pytest.mark.parametrize(
    ("fuser", "detector", "how"),
    [
        ("risk_budget", HMM, "scale"),
        ("stacking", HMM, "truncate"),
        ("vote", {"kind": "vol", "lookback": 250}, "nan"),
        ("confidence", {"kind": "changepoint", "every": 5, "proxy": "AAPL"}, "spike"),
    ],
    ids=["risk_budget-hmm", "stacking-hmm", "vote-vol", "confidence-changepoint"],
)
def test_lookahead_canary(panel: Panel, fuser: str, detector: dict, how: Perturbation) -> None:
    """Bars after T rescaled, cut off, missing or spiked: the decisions, equity,
    regimes, weights and regime events up to T stay the same."""
    t0 = 520
    params = _params(
        fuser=fuser,
        detector=detector,
        rebalance_every=3,
        stacking={"min_train": 150, "refit_every": 100},
    )
    base, tb = _run(panel, params)
    moved, tm = _run(perturb_after(panel, t0, how=how), params)
    ts = int(panel.timestamps[t0])
    cut = pd.Timestamp(ts, tz="UTC")
    before = _decisions_until(base, ts)
    assert before and before == _decisions_until(moved, ts)
    np.testing.assert_array_equal(base.equity[: t0 + 1], moved.equity[: t0 + 1])
    for name in ("regimes", "fusion_weights", "regime_events"):
        a, b = tb[name], tm[name]
        pd.testing.assert_frame_equal(a[a["timestamp"] <= cut], b[b["timestamp"] <= cut])
    assert (tb["regimes"]["regime"] != "warmup").any()
    assert not tb["regimes"].equals(tm["regimes"])  # the perturbation reaches the detector


def test_regime_changes_take_effect_at_the_next_decision(panel: Panel) -> None:
    r, tables = _run(panel, _params(rebalance_every=5))
    reg, ev, w = tables["regimes"], tables["regime_events"], tables["fusion_weights"]
    assert len(ev) >= 2 and set(ev["to"]) >= {"calm", "high_vol"}
    assert (ev["bar"] % 5 == 0).all()  # only at decisions
    for row in ev.itertuples():
        at = w[w["timestamp"] == row.timestamp]
        assert at["regime"].item() == row.to
        assert at["revert"].item() == RULES[row.to]["weights"]["revert"]
    assert len(reg) == len(r.timestamps)
    fits = tables["regime_fits"]  # a backtest refits synchronously at the refit bar
    assert len(fits) >= 2 and (fits["data_until"] == fits["used_from"]).all()
    limit = [o for o in r.orders if o.type == "limit"]
    assert limit, "high_vol trades with passive limit orders"
    assert all(
        reg.set_index("timestamp").loc[pd.Timestamp(o.created_ns, tz="UTC"), "regime"] == "high_vol"
        for o in limit
    )
