"""A paper replay's ``--out`` folder is the backtest's: the same files, the strategies'
extra tables included, and the same summary.json, whose robustness block counts every
strategy of the run (deflated Sharpe trials, PBO) and estimates capacity from the feed;
the summary stored with the paper run carries that block too."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.config import parse_config
from alphapulse.live.session import run_session
from alphapulse.store import open_store

from .helpers import paper_cfg

HYBRID = {
    "strategy": "hybrid",
    "params": {
        "experts": [
            {"strategy": "sma_cross", "name": "trend", "params": {"fast": 5, "slow": 20}},
            {"strategy": "mean_reversion", "name": "revert", "params": {"window": 10}},
        ],
        "detector": {"kind": "vol"},
        "fuser": "vote",
        "regimes": {
            "calm": {"weights": {"trend": 1, "revert": 0.5}},
            "high_vol": {"weights": {"trend": 0.5, "revert": 1}, "gross": 0.5},
        },
    },
}


def test_paper_out_matches_backtest_out(shared_data: Path, tmp_path: Path) -> None:
    raw = paper_cfg(
        data={"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "XOM", "KO"],
              "start": "2016-01-01", "end": "2016-06-30"},
        strategies=[{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}, HYBRID],
    )  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    db = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    args = ["backtest", str(path), "--out", str(tmp_path / "bt"), "--db", db]
    res = CliRunner().invoke(app, args)  # the database in tmp_path, not the cwd
    assert res.exit_code == 0, res.output
    paper = run_session(parse_config(raw), out=tmp_path / "pp", db_url=db, persist=True)
    for label in ("sma_cross", "hybrid"):
        bt, pp = tmp_path / "bt" / label, tmp_path / "pp" / label
        names = sorted(p.name for p in bt.iterdir())
        assert names == sorted(p.name for p in pp.iterdir())
        for name in names:
            assert (pp / name).read_bytes() == (bt / name).read_bytes(), f"{label}/{name}"
        robust = json.loads((bt / "summary.json").read_text())["robustness"]
        assert robust["deflated_sharpe"]["n_trials"] == 2
        assert robust["pbo"] is not None and robust["capacity"] is not None
        with open_store(db) as store:
            run = store.read_run(paper.run_ids[label])
        assert run is not None and run["metrics"]["robustness"] == robust
    assert {"regimes.csv", "fusion_weights.csv"} <= {
        p.name for p in (tmp_path / "pp/hybrid").iterdir()
    }
