"""A pattern window that would need gigabytes over the run's symbols is refused with one
line naming the key, before the detector allocates it (``core.bounds.check_buffer``)."""

from __future__ import annotations

import pytest

from alphapulse.anomaly import AnomalyConfig
from alphapulse.anomaly.detector import AnomalyDetector
from alphapulse.core.errors import ConfigError
from alphapulse.risk.anomaly_reaction import AnomalyReaction
from tests.core.alloc_guard import cap_numpy

SYMBOLS = tuple(f"S{i:03d}" for i in range(100))


def _cfg(enabled: bool = True) -> AnomalyConfig:
    return AnomalyConfig.model_validate(
        {
            "pattern": {"enabled": enabled, "window": 1_000_000},
            "reaction": {"min_severity": "critical", "action": "block", "bars": 5},
        }
    )


def test_huge_window_on_many_symbols_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cap_numpy(monkeypatch)  # 1e6 bars x 100 symbols x 4 features x 8 bytes = 3.2e9 bytes
    with pytest.raises(ConfigError) as info:
        AnomalyReaction(_cfg(), SYMBOLS)  # what the risk stage builds for anomalies.reaction
    msg = str(info.value)
    assert msg.startswith("anomalies.pattern.window 1000000 x 100 symbols needs 3.0 GiB")
    assert "\n" not in msg


def test_disabled_pattern_keeps_no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch)
    det = AnomalyDetector(_cfg(enabled=False), SYMBOLS)
    monkeypatch.undo()  # numpy as it is again before a kernel may compile
    bar = [1.0] * len(SYMBOLS)
    assert det.update(0, bar, bar, bar) == []


def test_same_window_on_one_symbol_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch, cap=64 * 1024**2)  # 1e6 x 1 x 4 x 8 = 32 MB
    AnomalyDetector(_cfg(), SYMBOLS[:1])
