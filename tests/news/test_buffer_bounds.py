"""A factor whose window, lag or burst ring would need gigabytes over the symbols is
refused with one line naming the key before the stream allocates it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.core.alloc_guard import cap_numpy
from tests.news.helpers import SYMBOLS, table

from alphapulse.core.errors import ConfigError
from alphapulse.news.config import FactorConfig
from alphapulse.news.pipeline import prepare
from alphapulse.news.stream import FactorStream

MANY = (*SYMBOLS, *(f"S{i:03d}" for i in range(298)))  # 300 symbols
BIG = 1_000_000


@pytest.mark.parametrize(
    ("factor", "start"),
    [
        ({"window": BIG}, "factor.window 1000000 x 300 symbols needs 2.2 GiB"),  # 8 B a bar
        ({"lag_bars": BIG}, "factor.lag_bars 1000000 x 300 symbols needs 6.7 GiB"),  # 24 B
        ({"guard": {"burst_window": BIG}}, "factor.guard.burst_window 1000000 x 300 symbols"),
    ],
)
def test_big_factor_buffers_are_refused(
    factor: dict[str, Any], start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = FactorConfig.model_validate(factor)
    items = prepare(table([(5, 1, 0)]), cfg, scores=np.zeros(1))
    cap_numpy(monkeypatch)
    with pytest.raises(ConfigError) as info:
        FactorStream(items, MANY, cfg)
    assert str(info.value).startswith(start)
    assert "\n" not in str(info.value)


def test_big_window_on_two_symbols_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = FactorConfig(window=BIG, lag_bars=2)
    items = prepare(table([(5, 1, 0)]), cfg, scores=np.zeros(1))
    cap_numpy(monkeypatch)
    FactorStream(items, SYMBOLS, cfg)
