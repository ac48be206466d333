"""Backend-neutral units: the binary COPY codec, cache blocks, validation helpers."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.core.errors import DataError
from alphapulse.store import blocks, pgcopy
from alphapulse.store.blocks import BarArrays
from alphapulse.store.validate import check_symbol, check_timeframe, timeframe_ns, to_ns


def _bars(n: int, *, vwap: bool, trades: bool) -> BarArrays:
    rng = np.random.default_rng(n)
    f = [rng.normal(100, 1, n) for _ in range(5)]
    nan = np.full(n, np.nan)
    ts = np.sort(rng.integers(-(2**61), 2**61, n))
    return BarArrays(
        ts, *f, rng.normal(100, 1, n) if vwap else nan, np.arange(n, dtype=float) if trades else nan
    )


def test_copy_codec_round_trip() -> None:
    ts = np.array([-(2**62), 0, 2**62], dtype=np.int64)
    x = np.array([np.pi, -0.0, 1e300])
    i4 = np.array([1, -2, 3], dtype=np.int32)
    stream = pgcopy.encode([("int8", ts), ("float8", x), ("int4", i4)])
    got = pgcopy.decode(stream, ["int8", "float8", "int4"])
    for a, b in zip(got, [ts, x, i4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert pgcopy.decode(pgcopy.encode([("int8", ts[:0])]), ["int8"])[0].size == 0
    with pytest.raises(ValueError):
        pgcopy.decode(stream, ["int8", "float8"])  # wrong layout is detected
    text = pgcopy.encode_rows([("text", b"ABC"), ("int8", ts)], 3)
    assert len(text) == 3 * (2 + 4 + 3 + 4 + 8) and text[6:9] == b"ABC"


@pytest.mark.parametrize(("vwap", "trades"), [(False, False), (True, False), (True, True)])
def test_block_pack_round_trip(vwap: bool, trades: bool) -> None:
    bars = _bars(1_000, vwap=vwap, trades=trades)
    n, flags, payload = blocks.pack(bars)
    assert len(payload) == 8 * n * (6 + vwap + trades)
    back = blocks.unpack(n, flags, payload)
    for a, b in zip(back.columns(), bars.columns(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        blocks.unpack(n + 1, flags, payload)


def test_block_split_and_span() -> None:
    assert blocks.block_span("1m") == 60 * 10**9 * blocks.BLOCK_BARS
    assert blocks.block_span("1mo") == blocks.MAX_SPAN_NS
    bars = _bars(5_000, vwap=False, trades=False)
    span = 2**58
    parts = blocks.split(bars, span)
    assert sum(len(p) for _, p in parts) == len(bars)
    for start, part in parts:
        assert ((part.ts >= start) & (part.ts < start + span)).all()


def test_validation_helpers() -> None:
    assert check_timeframe("1min") == "1m" and check_timeframe("4H") == "4h"
    assert timeframe_ns("15m") == 15 * 60 * 10**9
    assert check_symbol(" brk.b ") == "BRK.B" and check_symbol("^GSPC") == "^GSPC"
    assert to_ns("1970-01-01T00:00:01", field="start") == 10**9
    assert to_ns(5, field="start") == 5
    with pytest.raises(DataError) as info:
        to_ns("not a time", field="end")
    assert info.value.field == "end"
