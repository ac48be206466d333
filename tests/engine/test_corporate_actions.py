"""Bars that hold splits or dividends their prices do not reflect (Alpha Vantage's daily
files) are traded back-adjusted: a held position does not read AAPL's 4:1 split of
2020-08-31 as a 75% loss, and a frame whose prices already reflect its actions (or that
holds none after its first bar) is traded as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.data.adjustments import has_unapplied_actions, tradable
from alphapulse.engine.runner import load_data, run_backtest


def _config(shared_data: Path, symbol: str, start: str, end: str) -> dict[str, object]:
    data = {"source": "daily_adjusted_with_actions_1999_2020", "root": str(shared_data)}
    return {
        "data": {**data, "symbols": [symbol], "start": start, "end": end},
        "initial_cash": 100_000,
        "strategies": [{"strategy": "buy_and_hold"}],
    }


@pytest.mark.parametrize(
    ("symbol", "start", "end"),
    [("AAPL", "2020-08-03", "2020-09-30"), ("AAPL", "2014-05-01", "2014-07-31")],
    ids=["4:1 split 2020", "7:1 split 2014"],
)
def test_a_held_position_keeps_its_value_through_a_split(
    shared_data: Path, symbol: str, start: str, end: str
) -> None:
    cfg = parse_config(_config(shared_data, symbol, start, end))
    panel = load_data(cfg)
    result = next(iter(run_backtest(cfg, panel, workers=1).values()))
    # the provider's own adjusted close (as of 2020) gives the holding's return over the
    # run, dividends included; the engine's equity follows it less fees and rounding
    adj = panel.fields["adj_close"][:, 0]
    first_fill = 1  # buy and hold decides at the first close, fills at the next open
    held = adj[-1] / adj[first_fill]
    gain = result.equity[-1] / result.equity[0]
    assert gain == pytest.approx(held, rel=0.01)
    assert result.equity.min() > 0.8 * result.equity[0]  # no false crash at the ex-date


def test_only_frames_with_unapplied_actions_are_adjusted() -> None:
    ts = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    frame = pd.DataFrame(
        {c: [100.0, 100.0, 50.0, 50.0] for c in ("open", "high", "low", "close")}, index=ts
    )
    frame["volume"] = 1_000.0
    frame["split"] = [1.0, 1.0, 2.0, 1.0]
    frame["dividend"] = 0.0
    assert has_unapplied_actions(frame)
    adjusted = tradable(frame)
    np.testing.assert_array_equal(adjusted["close"], [50.0, 50.0, 50.0, 50.0])
    np.testing.assert_array_equal(adjusted["volume"], [2_000.0, 2_000.0, 1_000.0, 1_000.0])

    reflected = frame.copy()
    reflected.attrs["splits_applied"] = True  # e.g. zipline's csvdir files
    assert not has_unapplied_actions(reflected) and tradable(reflected) is reflected
    first_only = frame.assign(split=[2.0, 1.0, 1.0, 1.0])  # nothing before it to adjust
    assert not has_unapplied_actions(first_only) and tradable(first_only) is first_only
    zero_means_none = frame.assign(split=[0.0, 0.0, 0.0, 0.0])
    assert not has_unapplied_actions(zero_means_none)
    paid = frame.assign(split=1.0, dividend=[0.0, 0.0, 1.0, 0.0])
    assert has_unapplied_actions(paid)
    np.testing.assert_allclose(tradable(paid)["close"][:2], 100.0 * (1 - 1.0 / 100.0))
