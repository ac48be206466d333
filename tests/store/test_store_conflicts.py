"""Conflict policies of bar imports (``store/conflicts.py``): reject refuses the whole
import and changes nothing, skip keeps stored bars, replace overwrites them; identical bars
are never conflicts. Checked against a dict model on both backends, and on batches large
enough for PostgreSQL's COPY paths."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import MINUTE, T0, bars_frame

from alphapulse.core.errors import DataError
from alphapulse.store import Store
from alphapulse.store.conflicts import ON_CONFLICT, BarConflictError, OnConflict

_SYMBOLS = (f"C{i}" for i in itertools.count())


def _frame(symbol: str, closes: dict[int, float]) -> pd.DataFrame:
    minutes = np.array(sorted(closes), dtype=np.int64)
    close = np.array([closes[m] for m in minutes])
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": pd.to_datetime(T0 + minutes * MINUTE, unit="ns", utc=True),
            "open": close,
            "high": close + 1,
            "low": close / 2,
            "close": close,
            "volume": 10.0,
        }
    )


def _stored(store: Store, symbol: str) -> dict[int, float]:
    df = store.read_bars(symbol, "1m")
    minutes = (df.index.asi8 - T0) // MINUTE
    return dict(zip(minutes.tolist(), df["close"].tolist(), strict=True))


closes = st.dictionaries(st.integers(0, 30), st.sampled_from([1.0, 2.0, 3.0]), max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(old=closes, new=closes, policy=st.sampled_from(ON_CONFLICT))
def test_policies_match_a_dict_model(
    store: Store, old: dict[int, float], new: dict[int, float], policy: OnConflict
) -> None:
    symbol = next(_SYMBOLS)
    if old:
        store.import_bars([_frame(symbol, old)], "1m")
    conflicts = {m for m in old.keys() & new.keys() if old[m] != new[m]}
    if not new:
        return
    if policy == "reject" and conflicts:
        with pytest.raises(BarConflictError) as exc:
            store.import_bars([_frame(symbol, new)], "1m", on_conflict=policy)
        assert len(exc.value.conflicts) == len(conflicts)
        assert _stored(store, symbol) == old
        return
    summary = store.import_bars([_frame(symbol, new)], "1m", on_conflict=policy)
    expected = {**new, **old} if policy == "skip" else {**old, **new}
    assert _stored(store, symbol) == expected
    assert summary.conflicts == len(conflicts)
    fresh = len(new.keys() - old.keys())
    assert summary.rows_written == fresh + (len(conflicts) if policy == "replace" else 0)


def _large_pair() -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """2 x 2500 stored bars; an import of minutes 1000-2999 where every third overlapping
    bar has another close (2 x 500 conflicts) and minutes 2500-2999 are new."""
    first = bars_frame(["AAA", "BBB"], 2500, seed=1)
    second = pd.concat(
        [
            first[(first["timestamp"] >= pd.Timestamp(T0 + 1000 * MINUTE, tz="UTC"))],
            bars_frame(["AAA", "BBB"], 500, start=2500, seed=2),
        ],
        ignore_index=True,
    )
    minute = (second["timestamp"].astype("int64") - T0) // MINUTE
    changed = ((minute % 3 == 0) & (minute < 2500)).to_numpy()
    second.loc[changed, "high"] += 1.0
    return first, second, changed


@pytest.mark.parametrize("policy", ON_CONFLICT)
def test_policies_on_copy_sized_batches(store: Store, policy: OnConflict) -> None:
    first, second, changed = _large_pair()
    store.import_bars([first], "1m")
    before = {s: store.read_bars(s, "1m") for s in ("AAA", "BBB")}
    if policy == "reject":
        with pytest.raises(DataError, match=r"^rule conflict: 1000 bars differ"):
            store.import_bars([second], "1m")
        for s, df in before.items():
            pd.testing.assert_frame_equal(store.read_bars(s, "1m"), df)
        assert store.read_imports().iloc[-1]["detail"]["conflicts"] == 1000
        return
    summary = store.import_bars([second], "1m", on_conflict=policy)
    assert summary.conflicts == int(changed.sum()) == 1000
    assert summary.rows_written == 1000 + (1000 if policy == "replace" else 0)
    for s in ("AAA", "BBB"):
        got = store.read_bars(s, "1m")
        assert len(got) == 3000
        mine = second[second["symbol"] == s].set_index("timestamp")
        kept = before[s] if policy == "skip" else mine
        common = kept.index.intersection(mine.index)
        assert np.array_equal(got.loc[common, "high"], kept.loc[common, "high"])
