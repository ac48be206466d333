"""Crash recovery: a paper session SIGKILLed at random moments and restarted with the
same config ends with exactly the database state of an uninterrupted session (no lost
or duplicated orders and fills; positions and cash reconcile with the engine)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import func, select

from alphapulse.config import parse_config
from alphapulse.engine.runner import run_backtest
from alphapulse.live.journal import run_id_for
from alphapulse.live.session import run_session
from alphapulse.store import Store, open_store
from alphapulse.store.schema import TABLES

from .helpers import paper_cfg, stored_table

ROOT = Path(__file__).resolve().parents[2]
TABLES_COMPARED = (
    "orders", "fills", "positions", "portfolio_cash", "portfolio_snapshots", "risk_events",
    "trades",
)  # fmt: skip
KILLS = 3


def _cli(config: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    code = "from alphapulse.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "paper", str(config), "--db", db_url],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "ALPHAPULSE_CODE_VERSION": "test"},
    )


def _steps(store: Store) -> int:
    snaps = TABLES["portfolio_snapshots"]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(snaps)).scalar() or 0)


def test_sigkill_recovery(db_url: str, tmp_path: Path, shared_data: Path) -> None:
    raw = paper_cfg()
    raw["data"] = {**raw["data"], "start": "2016-01-01"}
    cfg = parse_config(raw)
    config = tmp_path / "paper.yaml"
    config.write_text(yaml.safe_dump(raw))
    labels = [s.label for s in cfg.strategies]
    total = len(run_backtest(cfg, workers=1)[labels[0]].timestamps) * len(labels)
    rng = random.Random(os.getpid())
    # kill points leave room to spare: a faster engine can finish the last 10% between polls
    targets = sorted(rng.uniform(0.05, 0.6) * total for _ in range(KILLS))
    log = tmp_path / "paper.log"
    killed = 0
    with open_store(db_url) as store:
        for target in targets:
            proc = _cli(config, db_url, log)
            while proc.poll() is None and _steps(store) < target:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.01))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=30)
        assert killed >= KILLS - 1, log.read_text()[-3000:]
        assert _steps(store) < total  # the kills left the session unfinished
        final = _cli(config, db_url, log)
        assert final.wait(timeout=60) == 0, log.read_text()[-3000:]

        reference = run_session(
            parse_config({**raw, "paper": {**raw["paper"], "session": "reference"}}),
            db_url=db_url,
        ).results
        for label in labels:
            rid, ref = run_id_for(cfg.name, label), run_id_for("reference", label)
            assert store.read_run(rid)["status"] == "finished"
            for table in TABLES_COMPARED:
                pd.testing.assert_frame_equal(
                    stored_table(store, table, rid), stored_table(store, table, ref)
                )
            r = reference[label]
            fills = stored_table(store, "fills", rid)
            assert len(fills) == len(r.fills) and fills["fill_key"].is_unique
            assert len(stored_table(store, "orders", rid)) == len(r.orders)
            cash = store.read_cash(rid)
            assert cash is not None and cash["cash"] == pytest.approx(r.cash[-1], rel=1e-12)
            pos = stored_table(store, "positions", rid).set_index("symbol")["quantity"]
            want = pd.Series(r.final_positions, index=list(r.symbols))
            np.testing.assert_allclose(pos.reindex(want.index).fillna(0.0), want, atol=1e-9)
