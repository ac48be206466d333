"""The incremental factor equals the batch factor in any chunking, and its work is
linear in the bars seen."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.news.helpers import HEADLINES, SYMBOLS, bar_stamps, scores_of, table

from alphapulse.news.config import FactorConfig, GuardConfig
from alphapulse.news.pipeline import factor_values, prepare
from alphapulse.news.stream import FactorStream

N_BARS = 40
triples = st.tuples(
    st.integers(0, N_BARS * 60), st.integers(0, 1), st.integers(0, len(HEADLINES) - 1)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(triples, min_size=0, max_size=40),
    st.integers(0, 3),
    st.integers(1, 4),
    st.lists(st.integers(1, 7), min_size=1, max_size=10),
)
def test_stream_equals_batch_in_any_chunking(specs, lag, burst, chunks) -> None:
    cfg = FactorConfig(
        bar="1h",
        halflife=2,
        window=5,
        min_periods=2,
        lag_bars=lag,
        guard=GuardConfig(burst_window=burst, burst_multiple=1.0),
    )
    tab = table(specs)
    items = prepare(tab, cfg, scores=scores_of(tab))
    stamps = bar_stamps(N_BARS)
    want = factor_values(items, SYMBOLS, stamps, cfg)
    stream = FactorStream(items, SYMBOLS, cfg)
    got, start, k = [], 0, 0
    while start < N_BARS:
        size = chunks[k % len(chunks)]
        got.append(stream.update(stamps[start : start + size]))
        start, k = start + size, k + 1
    assert np.array_equal(np.concatenate(got), want, equal_nan=True)


def _bar_by_bar(n_bars: int) -> tuple[float, int]:
    """Seconds per bar and total work of a bar-by-bar run over ``n_bars`` hourly bars
    with one headline per bar (half-way through it: one at the first bar's start would
    have arrived before the data, and be left out)."""
    cfg = FactorConfig(bar="1h", halflife=2, window=20, min_periods=5)
    rng = np.random.default_rng(0)
    specs = [
        (int(m), int(rng.integers(2)), int(rng.integers(7))) for m in range(30, n_bars * 60, 60)
    ]
    tab = table(specs)
    stream = FactorStream(prepare(tab, cfg, scores=scores_of(tab)), SYMBOLS, cfg)
    stamps = bar_stamps(n_bars)
    t0 = time.perf_counter()
    for t in range(n_bars):
        stream.update(stamps[t : t + 1])
    return (time.perf_counter() - t0) / n_bars, stream.work


def test_bar_by_bar_work_is_linear() -> None:
    _bar_by_bar(50)  # compile
    short, work_short = _bar_by_bar(200)
    long, work_long = _bar_by_bar(2000)
    assert work_short == 200 + 200 and work_long == 2000 + 2000  # each bar, each item once
    assert long < 3.0 * short  # quadratic would be ~10x per bar
