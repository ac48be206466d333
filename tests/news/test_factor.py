"""The factor is causal: later headlines never change earlier decisions; bar by bar
equals batch; the lag and known_at rules hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.news.helpers import HEADLINES, HOUR, SYMBOLS, bar_stamps, scores_of, table

from alphapulse.core.errors import ConfigError
from alphapulse.news import items
from alphapulse.news.config import FactorConfig, GuardConfig, RelevanceConfig
from alphapulse.news.factor import assign_bars, decision_times
from alphapulse.news.pipeline import factor_values, prepare
from alphapulse.news.stream import FactorStream
from alphapulse.strategies.sentiment import decide

N_BARS = 40
CFG = FactorConfig(bar="1h", halflife=2, window=5, min_periods=2, guard=GuardConfig(burst_window=3))
triples = st.tuples(
    st.integers(0, N_BARS * 60), st.integers(0, 1), st.integers(0, len(HEADLINES) - 1)
)


def run(
    specs: list[tuple[int, int, int]], cfg: FactorConfig = CFG
) -> tuple[np.ndarray, np.ndarray]:
    """Factor values [T, N, 3] and long/short decisions [T, N] on hourly bars."""
    tab = table(specs)
    prepared = prepare(tab, cfg, scores=scores_of(tab))
    values = factor_values(prepared, SYMBOLS, bar_stamps(N_BARS), cfg)
    dirs = np.array([decide(v, "surprise", 0.3, False).direction for v in values])
    return values, dirs


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(triples, min_size=1, max_size=25), st.data())
def test_moving_a_headline_later_never_changes_earlier_decisions(specs, data) -> None:
    k = data.draw(st.integers(0, len(specs) - 1))
    old = specs[k][0]
    new = data.draw(st.integers(old, N_BARS * 60 + 120))
    moved = [*specs[:k], (new, *specs[k][1:]), *specs[k + 1 :]]
    dropped = specs[:k] + specs[k + 1 :]
    base_v, base_d = run(specs)
    moved_v, moved_d = run(moved)
    drop_v, drop_d = run(dropped)
    decided = decision_times(bar_stamps(N_BARS), "1h")
    start = pd.Timestamp("2022-03-01", tz="UTC").value
    before_old = decided < start + old * 60 * 10**9
    before_new = decided < start + new * 60 * 10**9
    # before its old time the headline was unknown, and still is
    assert same(moved_d[before_old], base_d[before_old])
    assert same(moved_v[before_old], base_v[before_old])
    # before its new time the run behaves as if the headline did not exist
    assert same(moved_d[before_new], drop_d[before_new])
    assert same(moved_v[before_new], drop_v[before_new])


@settings(max_examples=15, deadline=None)
@given(st.lists(triples, min_size=1, max_size=20))
def test_bar_by_bar_equals_batch(specs) -> None:
    tab = table(specs)
    prepared = prepare(tab, CFG, scores=scores_of(tab))
    full = factor_values(prepared, SYMBOLS, bar_stamps(N_BARS), CFG)
    for t in (0, 7, 19, N_BARS - 1):
        step = factor_values(prepared, SYMBOLS, bar_stamps(t + 1), CFG)[-1]
        assert same(step, full[t])


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"window": 10**12}, "window"),
        ({"lag_bars": 10**12}, "lag_bars"),
        ({"halflife": 1e12}, "halflife"),
        ({"guard": {"burst_window": 10**12}}, "guard.burst_window"),
    ],
)
def test_a_window_beyond_a_million_bars_is_refused_naming_it(over: dict, field: str) -> None:
    # each was accepted, and the rings and lag queue were allocated at that length
    with pytest.raises(
        ValidationError, match=rf"{field}\n  Input should be less than or equal to 1000000"
    ):
        FactorConfig.model_validate(over)


def test_item_is_used_at_first_decision_at_or_after_known_at_plus_lag() -> None:
    decisions = np.array([10, 20, 30, 40], dtype=np.int64)
    known = np.array([5, 10, 11, 30, 41], dtype=np.int64)
    assert assign_bars(known, decisions).tolist() == [0, 0, 1, 2, 4]
    assert assign_bars(known, decisions, lag_bars=1).tolist() == [1, 1, 2, 3, 4]


def test_lag_bars_shifts_the_factor_by_whole_bars() -> None:
    specs = [(m * 37 % (N_BARS * 60), m % 2, m % len(HEADLINES)) for m in range(30)]
    base, _ = run(specs)
    lagged, _ = run(specs, CFG.model_copy(update={"lag_bars": 2}))
    assert same(lagged[2:], base[:-2])
    assert np.all(lagged[:2, :, 1] == 0)


def test_daily_bars_decide_at_the_session_close() -> None:
    days = pd.DatetimeIndex(["2021-11-24", "2021-11-26", "2021-11-29"], tz="UTC")
    got = pd.DatetimeIndex(decision_times(days.as_unit("ns").asi8).view("datetime64[ns]"))
    want = ["2021-11-24 21:00", "2021-11-26 18:00", "2021-11-29 21:00"]  # early close on 26th
    assert got.strftime("%Y-%m-%d %H:%M").tolist() == want
    hourly = decision_times(bar_stamps(3), "1h")
    assert (hourly - bar_stamps(3)).tolist() == [HOUR] * 3


def test_intraday_bars_under_a_daily_factor_bar_are_an_error() -> None:
    """Hourly stamps with the default ``bar: 1D`` would decide at the session close, so
    a headline of the day would move the day's first bar: a config error instead."""
    with pytest.raises(ConfigError, match=r"factor.bar '1D'.*has a time of day"):
        decision_times(bar_stamps(3))


def test_bars_shorter_than_the_factor_bar_are_an_error() -> None:
    """Hourly bars under ``bar: 4h`` would decide at stamp + 4h: a headline three hours
    after an hourly bar closed moved its decision. Batch and stream (bar by bar) refuse."""
    with pytest.raises(ConfigError, match=r"factor.bar '4h'.*0 days 01:00:00 apart"):
        decision_times(bar_stamps(3), "4h")
    cfg = FactorConfig(bar="4h")
    stream = FactorStream(prepare(table([(5, 1, 0)]), cfg, scores=np.zeros(1)), SYMBOLS, cfg)
    stream.update(bar_stamps(1))  # one bar alone cannot tell
    with pytest.raises(ConfigError, match=r"factor.bar '4h'"):
        stream.update(bar_stamps(2)[1:])
    four_hourly = bar_stamps(9)[::4]
    assert (decision_times(four_hourly, "4h") - four_hourly == 4 * HOUR).all()


def test_count_and_score_of_one_bar() -> None:
    specs = [(5, 1, 0), (10, 1, 1), (20, 0, 3)]  # all within the first hourly bar
    values, _ = run(specs)
    tab = table(specs)
    tsla = scores_of(tab)[tab["symbol"].to_numpy() == "TSLA"]
    assert values[0, 1, 1] == 2 and values[0, 0, 1] == 1
    assert np.isclose(values[0, 1, 0], tsla.mean())
    assert values[1, 1, 1] == 0 and np.isclose(values[1, 1, 0], tsla.mean())  # decays, same mean
    assert np.isnan(values[0, 1, 2])  # no surprise before min_periods scores


def test_items_known_before_the_data_are_left_out_of_the_first_bar() -> None:
    """A run that starts later sees at its first bar the items that arrived at that bar
    in a longer run (after the previous session's close, or the bar's start when
    intraday), not every earlier item lumped in undecayed (before: the first bar's
    sent_count was all of them and its score their plain mean)."""
    dates = ["2021-03-15", "2021-04-01", "2021-04-02", "2021-04-03", "2021-04-05", "2021-04-06"]
    rows = pd.DataFrame({"symbol": "TSLA", "date": dates, "headline": [f"h{i}" for i in range(6)]})
    cfg = FactorConfig(relevance=RelevanceConfig(mode="off"), guard=GuardConfig(dedup="none"))
    scores = np.array([0.9, 0.8, -0.2, 0.1, 0.4, -0.6])  # normalize keeps the date order
    prepared = prepare(items.normalize(rows), cfg, scores=scores)
    days = pd.DatetimeIndex(["2021-03-31", "2021-04-01", "2021-04-05", "2021-04-06"], tz="UTC")
    stamps = days.as_unit("ns").asi8
    full = factor_values(prepared, ["TSLA"], stamps, cfg)
    late = factor_values(prepared, ["TSLA"], stamps[2:], cfg)
    # Monday 04-05 takes Good Friday's, Saturday's and its own headline
    assert full[2, 0, 1] == late[0, 0, 1] == 3
    assert np.isclose(late[0, 0, 0], scores[2:5].mean())
    streamed = FactorStream(prepared, ["TSLA"], cfg).update(stamps[2:])
    assert same(streamed, late)
    hourly, _ = run([(5, 1, 0), (65, 1, 1), (125, 1, 2)])
    tab = table([(5, 1, 0), (65, 1, 1), (125, 1, 2)])
    later = factor_values(prepare(tab, CFG, scores=scores_of(tab)), SYMBOLS, bar_stamps(3)[1:], CFG)
    assert hourly[1:3, 1, 1].tolist() == later[:, 1, 1].tolist() == [1, 1]


@pytest.mark.parametrize("lag", [0, 2])
def test_steady_news_is_not_damped_while_the_burst_window_warms_up(lag: int) -> None:
    """Two items every bar under a cap of 1x the trailing median count: no bar is a burst.
    Before, the window's bars before the data (and the lag's empty rows) counted as bars
    without news, so the first bars were damped to half weight, batch and stream alike."""
    guard = GuardConfig(dedup="none", burst_window=6, burst_multiple=1.0)
    cfg = CFG.model_copy(
        update={"lag_bars": lag, "relevance": RelevanceConfig(mode="off"), "guard": guard}
    )
    off = cfg.model_copy(update={"guard": guard.model_copy(update={"burst_multiple": 1e9})})
    specs = [(60 * h + m, 1, (h + m) % 3) for h in range(N_BARS) for m in (10, 20)]
    values, _ = run(specs, cfg)
    assert same(values, run(specs, off)[0])
    tab = table(specs)
    stream = FactorStream(prepare(tab, cfg, scores=scores_of(tab)), SYMBOLS, cfg)
    assert same(stream.update(bar_stamps(N_BARS)), values)
