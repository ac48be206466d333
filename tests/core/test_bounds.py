"""``check_buffer``: one rule for the buffers a config field sizes by the symbols."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.core.bounds import MAX_BUFFER_BYTES, MAX_WINDOW_BARS, check_buffer
from alphapulse.core.errors import ConfigError
from tests.core.alloc_guard import cap_numpy


def test_over_the_limit_is_one_line_naming_the_field() -> None:
    nbytes = 1_000_000 * 1000 * 4 * 8  # 32e9 bytes = 29.8 GiB
    with pytest.raises(ConfigError) as info:
        check_buffer("anomalies.pattern.window", 1_000_000, 1000, nbytes)
    assert str(info.value) == (
        "anomalies.pattern.window 1000000 x 1000 symbols needs 29.8 GiB of buffer, "
        "over the 2.0 GiB limit; use a smaller window or fewer symbols"
    )
    assert isinstance(info.value, ValueError)  # a pydantic validator reports it by field


def test_the_limit_itself_is_allowed() -> None:
    check_buffer("window", 1, 1, MAX_BUFFER_BYTES)
    with pytest.raises(ConfigError, match=r"over the 2\.0 GiB limit"):
        check_buffer("window", 1, 1, MAX_BUFFER_BYTES + 1)


def test_real_runs_fit_far_below_the_limit() -> None:
    """The largest real uses: one symbol over two million bars, and the 50-symbol
    intraday benchmarks with a window of the most bars a config may ask for (four
    float64 values a bar, as the anomaly detector's pattern buffer)."""
    one_symbol = 2_000_000 * 1 * 4 * 8
    intraday = MAX_WINDOW_BARS * 50 * 4 * 8
    assert one_symbol * 30 < MAX_BUFFER_BYTES
    check_buffer("window", MAX_WINDOW_BARS, 50, intraday)


def test_the_test_cap_refuses_big_allocations(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch)
    assert np.full((1000, 10), np.nan).shape == (1000, 10)
    with pytest.raises(MemoryError, match="test cap"):
        np.zeros((1_000_000, 100, 4))
