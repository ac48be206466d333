"""Numerical edges of the detectors: flat windows, constant volatility, degenerate HMM
fits, with no numpy warning or hmmlearn log record reaching the user."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.regimes import ChangePointRegime, HMMRegime, VolRegime, log_returns
from tests.regimes.lag import BarLag

BOUNCE = np.tile([100.0, 101.0], 200)  # two feature rows: a 3-state fit leaves one empty


def _moving(n: int, seed: int = 0) -> np.ndarray:
    return 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))


def test_changepoint_flat_window_is_calm_without_a_warning() -> None:
    """Zero returns over the window (or its last segment) have volatility ratio 0: calm
    with p_high_vol 0 (before: numpy's divide-by-zero warning from log(0))."""
    moving = _moving(200)
    for close in (np.full(200, 100.0), np.concatenate([moving, np.full(120, moving[-1])])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = ChangePointRegime(window=60, every=5).detect(log_returns(close))
        assert res.names()[-40:] == ["calm"] * 40
        assert np.all(res.probs[-40:, 1] == 0.0)


@pytest.mark.parametrize(
    "close",
    [100 * 1.001 ** np.arange(400), 100 * np.exp(np.cumsum(np.tile([0.01, -0.01, -0.01], 134)))],
    ids=["constant-growth", "constant-size-moves"],
)
def test_vol_regime_calls_a_constant_vol_calm(close: np.ndarray) -> None:
    """Returns of one size give one realised vol, computed with rounding noise of an ulp:
    a tie, which takes the lowest rank (calm, p_high_vol = 1/history), not a rank drawn
    by the noise (before: high_vol on about a fifth of the bars)."""
    r = log_returns(close)
    res = VolRegime(lookback=100, min_history=20).detect(r)
    ready = res.state >= 0
    assert ready.sum() > 300
    assert set(np.array(res.names())[ready]) == {"calm"}
    assert np.all(res.probs[ready, 1] <= 1 / 20)


def _hmm() -> HMMRegime:
    return HMMRegime(n_states=3, min_train=20, refit_every=20, n_iter=30)


def test_hmm_fit_keeps_hmmlearn_log_records_to_itself(caplog: pytest.LogCaptureFixture) -> None:
    """hmmlearn's own notes during a fit (empty states, non-monotone EM) are not shown; a
    degenerate fit is logged once, by the detector, as a failed fit."""
    caplog.set_level(logging.WARNING)
    det = _hmm()
    for x in log_returns(BOUNCE):
        det.update(x)
    n_failed = sum(f.failed for f in det.fits)
    assert n_failed > 0
    assert [r.name for r in caplog.records if r.name.startswith("hmmlearn")] == []
    ours = [r for r in caplog.records if r.name == "alphapulse.regimes.hmm"]
    assert len(ours) == n_failed


def test_background_degenerate_fit_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """In paper mode a degenerate fit is logged as in a backtest: one line, no traceback
    (before: ``log.exception`` printed the ValueError's traceback at every such refit)."""
    caplog.set_level(logging.WARNING)
    det = _hmm()
    det.background(BarLag(det, lambda bar: 1))
    for x in log_returns(BOUNCE):
        det.update(x)
    failed = [f for f in det.fits if f.failed]
    assert failed and det.n_fits > 0
    ours = [r for r in caplog.records if r.name == "alphapulse.regimes.hmm"]
    assert len(ours) == len(failed)
    assert all(r.exc_info is None and "degenerate" in r.getMessage() for r in ours)


def test_cli_regimes_on_flat_prices_and_a_flat_stretch_prints_nothing(tmp_path: Path) -> None:
    """``alphapulse regimes`` on a flat symbol and one flat (at 80) for 150 bars mid-series:
    exit 0, nothing on stderr (before: numpy's RuntimeWarning from changepoint, and 87
    lines of hmmlearn's "Some rows of transmat_ have zero sum" from 4-state refits)."""
    ts = pd.bdate_range("2015-01-01", periods=600)
    moving = _moving(450, seed=3)
    mid = np.concatenate([moving[:250], np.full(150, 80.0), moving[250:]])
    rows = [
        pd.DataFrame({"timestamp": ts, "symbol": sym, "close": close})
        for sym, close in (("FLAT", np.full(len(ts), 50.0)), ("MID", mid))
    ]
    df = pd.concat(rows)
    for col in ("open", "high", "low"):
        df[col] = df["close"]
    df["volume"] = 1000.0
    df.to_csv(tmp_path / "edge.csv", index=False)
    for args in (["--detector", "changepoint"], ["--detector", "hmm", "--n-states", "4"]):
        cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "regimes"]
        cmd += ["edge.csv", "--out", "out.csv", *args]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert res.returncode == 0, res.stderr
        assert res.stderr == ""
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 2 * len(ts) and (out["regime"] != "warmup").any()
