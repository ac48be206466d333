"""The compiled stale-data step equals the numpy expressions it replaced, bar by bar."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.risk.guards import _stale_step


@settings(max_examples=150, deadline=None)
@given(st.data(), st.integers(1, 5), st.integers(1, 4))
def test_stale_step_matches_numpy(data: st.DataObject, n: int, bars: int) -> None:
    missing, stale, new_buf = np.zeros(n, np.int64), np.zeros(n, bool), np.zeros(n, np.int64)
    ref_missing, ref_stale = missing.copy(), stale.copy()
    for _ in range(data.draw(st.integers(1, 12))):
        has = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
        close = np.where(has, 1.0, np.nan)
        pos = np.array(
            data.draw(st.lists(st.sampled_from([0.0, 1.0, -2.0]), min_size=n, max_size=n))
        )
        k = _stale_step(close, pos, bars, missing, stale, new_buf)
        ref_missing = np.where(np.isfinite(close), 0, ref_missing + 1)
        now = (pos != 0.0) & (ref_missing >= bars)
        want = np.flatnonzero(now & ~ref_stale)
        ref_stale = now
        assert new_buf[:k].tolist() == want.tolist()
        assert missing.tolist() == ref_missing.tolist() and stale.tolist() == ref_stale.tolist()
