"""A hybrid paper session refits its HMM in the background (a model is swapped in at
the first bar after its fit completes: wall-clock timing). A restart replays the steps
the database holds with the swaps as they ran (``regime_fits``, journaled with the step
that first used each model), so it ends with an uninterrupted session's rows even when
the replay's fits complete at other bars than the original's did.

Fit timing is made deterministic by an executor whose fits complete ``lag`` bars after
they were submitted (the fit itself runs at once, on the same rows and warm start)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.live import journal
from alphapulse.live.journal import run_id_for
from alphapulse.live.session import run_session
from alphapulse.regimes.hmm import HMMRegime
from alphapulse.store import open_store
from tests.regimes.lag import BarLag, bar_of

from .helpers import Crash, paper_cfg, stored_table

LABEL, LAG = "hybrid", 4  # bars a fit takes in the original sessions
COMPARED = (
    "orders", "fills", "positions", "portfolio_cash", "portfolio_snapshots", "regimes",
    "regime_fits",
)  # fmt: skip
CRASH_AFTER = 150  # journaled steps before a crash may happen
FAILING = range(160, 170)  # detector bars where a submitted fit fails (one refit falls here)


TREND = {"strategy": "sma_cross", "name": "trend", "params": {"fast": 5, "slow": 20}}
REVERT = {"strategy": "mean_reversion", "name": "revert", "params": {"window": 10, "entry_z": 1}}
DETECTOR = {"kind": "hmm", "n_states": 2, "refit_every": 10, "min_train": 60, "n_iter": 10}


def _lagged(
    monkeypatch: pytest.MonkeyPatch, lag: Callable[[int], int], fail: Collection[int] = ()
) -> None:
    background = HMMRegime.background

    def patched(self: HMMRegime, executor: Executor | None = None) -> None:
        background(self, BarLag(self, lag, fail))

    monkeypatch.setattr(HMMRegime, "background", patched)


def _cfg(session: str) -> Any:
    raw = paper_cfg(risk=None)
    raw["data"] = {**raw["data"], "symbols": ["AAPL", "MSFT", "XOM", "JPM", "KO"]}
    raw["strategies"] = [
        {
            "strategy": "hybrid",
            "name": LABEL,
            "params": {
                "experts": [TREND, REVERT],
                "detector": DETECTOR,
                "fuser": "vote",
                "rebalance_every": 1,
                "default": {"weights": {"trend": 1, "revert": 1}},
                "regimes": {
                    "calm": {"weights": {"trend": 1, "revert": 0.2}, "gross": 1.0},
                    "high_vol": {"weights": {"trend": 0.2, "revert": 1}, "gross": 0.5},
                },
            },
        }
    ]
    raw["paper"] = {**raw["paper"], "session": session}
    return parse_config(raw)


def _crash(monkeypatch: pytest.MonkeyPatch, pending: bool, after_failure: bool) -> list[int]:
    """Die after a commit past CRASH_AFTER steps with a fit pending or with none (and,
    ``after_failure``, with a failed fit the last taken); the detector's bars so far."""
    commit, seen = journal.RunJournal.commit, []

    def dying(self: journal.RunJournal, ts_ns: int, messages: Any = ()) -> None:
        commit(self, ts_ns, messages)
        det = self.engine.strategy.detector  # type: ignore[attr-defined]
        seen.append(bar_of(det))
        last_failed = bool(det.fits) and det.fits[-1].failed
        ready = len(seen) > CRASH_AFTER and det.fits and last_failed == after_failure
        if ready and (det._pending is not None) == pending:
            raise Crash

    monkeypatch.setattr(journal.RunJournal, "commit", dying)
    return seen


@pytest.mark.parametrize(
    ("pending", "fail"),
    [(False, ()), (True, ()), (True, FAILING)],
    ids=["idle", "fit_pending", "failed_then_pending"],
)
def test_a_restart_replays_the_hmm_swaps_as_they_ran(
    db_url: str,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
    pending: bool,
    fail: Collection[int],
) -> None:
    """Crashed with no fit running (the restart's catch-up fits would complete at the
    next bar: a fast replay), with one running (resubmitted at its bar; it completes
    when it would have), or with one running after a failed fit and no model between
    (the failure is taken from the journal: the restart's fits never fail). All end
    with the reference session's rows."""
    _lagged(monkeypatch, lambda bar: LAG, fail)
    run_session(_cfg("reference"), db_url=db_url)
    seen = _crash(monkeypatch, pending, after_failure=bool(fail))
    with pytest.raises(Crash):
        run_session(_cfg("crashed"), db_url=db_url)
    crashed_at = seen[-1]  # the detector's bar at the crash
    monkeypatch.undo()
    # the replay runs faster than the original: a fit submitted while catching up is done
    # at the next bar (unless it was running at the crash: then as in the original)
    _lagged(monkeypatch, lambda bar: LAG if pending or bar > crashed_at else 0)
    restarted = run_session(_cfg("crashed"), db_url=db_url).results[LABEL]
    assert len(restarted.timestamps) > crashed_at + 1
    with open_store(db_url) as store:
        for table in COMPARED:
            got, want = (
                stored_table(store, table, run_id_for(s, LABEL)) for s in ("crashed", "reference")
            )
            pd.testing.assert_frame_equal(got, want, obj=table)
        fits = store.read_table("regime_fits", run_id_for("crashed", LABEL))
    assert len(fits) >= 10 and (fits["used_from"] > fits["data_until"]).all()
    assert (fits["strategy"] == LABEL).all() and fits["failed"].sum() == (1 if fail else 0)
