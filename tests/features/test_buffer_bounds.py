"""Feature states and the rolling z-score ring that a window sizes over the symbols are
refused with one line naming the key when over ``core.bounds.MAX_BUFFER_BYTES``, before
they are allocated."""

from __future__ import annotations

from typing import Any

import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.features.compute import FeatureState
from alphapulse.features.config import FeatureSetConfig
from tests.core.alloc_guard import cap_numpy


def _symbols(n: int) -> list[str]:
    return [f"S{i:03d}" for i in range(n)]


def _set(features: list[dict[str, Any]], **normalize: Any) -> FeatureSetConfig:
    return FeatureSetConfig.model_validate(
        {"name": "big", "features": features, "normalize": normalize or {"method": "none"}}
    )


def _refused(cfg: FeatureSetConfig, n: int, monkeypatch: pytest.MonkeyPatch) -> str:
    cap_numpy(monkeypatch)
    with pytest.raises(ConfigError) as info:
        FeatureState(cfg, _symbols(n))
    assert "\n" not in str(info.value)
    return str(info.value)


def test_market_window_on_many_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    # the beta ring keeps 2 values a bar: 200 x (3 + 2e6) x 8 bytes = 3.0 GiB
    cfg = _set([{"kind": "rsi"}, {"kind": "market", "window": 1_000_000}])
    msg = _refused(cfg, 200, monkeypatch)
    assert msg.startswith("features.1.window 1000000 x 200 symbols needs 3.0 GiB")


def test_rolling_z_window_on_many_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    # one z-scored column: 300 x 1e6 x 8 bytes = 2.2 GiB
    cfg = _set([{"kind": "returns", "horizons": [1]}], method="rolling_z", window=1_000_000)
    msg = _refused(cfg, 300, monkeypatch)
    assert msg.startswith("normalize.window 1000000 x 300 symbols needs 2.2 GiB")


def test_sentiment_lag_is_refused_when_the_set_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The news stream is made at the first block; its size is checked before any."""
    cfg = _set([{"kind": "sentiment", "lag_bars": 1_000_000}])
    msg = _refused(cfg, 100, monkeypatch)  # 100 x 1e6 x 3 x 8 bytes pending
    assert msg.startswith("features.0.lag_bars 1000000 x 100 symbols needs 2.2 GiB")


def test_same_windows_on_few_symbols_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch)
    cfg = _set([{"kind": "market", "window": 1_000_000}], method="rolling_z", window=1_000_000)
    assert FeatureState(cfg, _symbols(3)).names == ("beta_1000000", "corr_1000000")
