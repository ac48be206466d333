"""The VWAP volume profile keeps ``profile_sessions`` x symbols x 1440 minutes: over
``core.bounds.MAX_BUFFER_BYTES`` it is refused with one line before it is allocated."""

from __future__ import annotations

import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.execution.algos.profile import VolumeProfile
from tests.core.alloc_guard import cap_numpy


def test_most_sessions_on_a_thousand_symbols_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch)  # 250 x 1000 x 1440 x 8 bytes = 2.7 GiB
    with pytest.raises(ConfigError) as info:
        VolumeProfile(1000, 250)
    assert str(info.value) == (
        "execution.profile_sessions 250 x 1000 symbols needs 2.7 GiB of buffer, over the "
        "2.0 GiB limit; use a smaller profile_sessions or fewer symbols"
    )


def test_default_sessions_on_a_thousand_symbols_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    cap_numpy(monkeypatch, cap=512 * 1024**2)  # 20 x 1000 x 1440 x 8 bytes = 230 MB
    assert VolumeProfile(1000, 20).sessions == 0
