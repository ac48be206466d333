"""Runtime features: each turns a spec into output names, fresh per-symbol state and a
call of its numba step kernel on a block of rows."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alphapulse.features import stat_kernels as sk
from alphapulse.features import ta_kernels as tk
from alphapulse.features.calendar import calendar_values
from alphapulse.features.config import (
    AdxSpec,
    AmihudSpec,
    AtrSpec,
    BollingerSpec,
    CalendarSpec,
    CorwinSchultzSpec,
    FeatureSpec,
    MacdSpec,
    MarketSpec,
    ObvSpec,
    RealizedVolSpec,
    ReturnsSpec,
    RollSpreadSpec,
    RsiSpec,
    SentimentSpec,
    VolumeZSpec,
)

FloatArray = npt.NDArray[np.float64]
State = list[npt.NDArray[Any]]


@dataclass(frozen=True)
class Block:
    """Rows [T, N] of bars (float64, C-contiguous), their validity (all of OHLC > 0 and a
    volume >= 0), the index return of each row [T] and the timestamps [T] (ns, UTC)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    valid: npt.NDArray[np.bool_]
    index_ret: FloatArray
    timestamps: npt.NDArray[np.int64]


def _count(n: int) -> npt.NDArray[np.int64]:
    return np.zeros(n, dtype=np.int64)


def _nan(*shape: int) -> FloatArray:
    return np.full(shape, np.nan)


class Feature(ABC):
    """One spec at run time."""

    names: tuple[str, ...]

    @abstractmethod
    def init_state(self, n: int) -> State:
        """Fresh state for ``n`` symbols."""

    @abstractmethod
    def run(self, state: State, b: Block, out: FloatArray, col: int) -> None:
        """Advance ``state`` over the block, writing into ``out[:, :, col:col+len(names)]``."""

    def state_bytes(self, n: int) -> int:
        """Bytes that ``init_state(n)`` allocates (0: none that a window sizes)."""
        return 0


class _Simple(Feature):
    """A feature whose state is a count plus arrays of the given trailing shapes."""

    def __init__(
        self,
        names: tuple[str, ...],
        shapes: tuple[tuple[int, ...], ...],
        call: Callable[[State, Block, FloatArray, int], None],
    ) -> None:
        self.names = names
        self._shapes = shapes
        self._call = call

    def init_state(self, n: int) -> State:
        return [_count(n), *(_nan(n, *s) for s in self._shapes)]

    def state_bytes(self, n: int) -> int:
        return 8 * n * (1 + sum(math.prod(s) for s in self._shapes))

    def run(self, state: State, b: Block, out: FloatArray, col: int) -> None:
        self._call(state, b, out, col)


class Calendar(Feature):
    names = ("dow_sin", "dow_cos", "month_sin", "month_cos")

    def init_state(self, n: int) -> State:
        return []

    def run(self, state: State, b: Block, out: FloatArray, col: int) -> None:
        vals = calendar_values(b.timestamps)  # [T, 4]
        block = np.broadcast_to(vals[:, None, :], (*b.valid.shape, 4))
        out[:, :, col : col + 4] = np.where(b.valid[:, :, None], block, np.nan)


def build(spec: FeatureSpec) -> Feature:
    """The runtime feature of a spec."""
    if isinstance(spec, CalendarSpec):
        return Calendar()
    if isinstance(spec, SentimentSpec):
        from alphapulse.news.feature import SentimentFeature

        return SentimentFeature(spec)
    if isinstance(spec, ReturnsSpec):
        hz = np.array(sorted(set(spec.horizons)), dtype=np.int64)
        return _Simple(
            tuple(f"ret_{h}" for h in hz),
            ((int(hz.max()) + 1,),),
            lambda s, b, o, c: sk.returns_step(b.close, b.valid, hz, s[0], s[1], o, c),
        )
    if isinstance(spec, RsiSpec):
        p = spec.period
        return _Simple(
            (f"rsi_{p}",),
            ((), (), ()),
            lambda s, b, o, c: tk.rsi_step(b.close, b.valid, p, s[0], s[1], s[2], s[3], o, c),
        )
    if isinstance(spec, MacdSpec):
        f, sl, g = spec.fast, spec.slow, spec.signal
        return _Simple(
            (f"macd_hist_{f}_{sl}_{g}",),
            ((sl,), (g,), (3,)),
            lambda s, b, o, c: tk.macd_step(
                b.close, b.valid, f, sl, g, s[0], s[1], s[2], s[3], o, c
            ),
        )
    if isinstance(spec, AtrSpec):
        p = spec.period
        return _Simple(
            (f"atr_{p}",),
            ((), ()),
            lambda s, b, o, c: tk.atr_step(
                b.high, b.low, b.close, b.valid, p, s[0], s[1], s[2], o, c
            ),
        )
    if isinstance(spec, AdxSpec):
        p = spec.period
        return _Simple(
            (f"adx_{p}",),
            ((8,),),
            lambda s, b, o, c: tk.adx_step(b.high, b.low, b.close, b.valid, p, s[0], s[1], o, c),
        )
    if isinstance(spec, BollingerSpec):
        p, nb = spec.period, spec.nbdev
        return _Simple(
            (f"bb_pctb_{p}",),
            ((p,),),
            lambda s, b, o, c: tk.bollinger_step(b.close, b.valid, p, nb, s[0], s[1], o, c),
        )
    return _build_window(spec)


def _build_window(spec: FeatureSpec) -> Feature:
    if isinstance(spec, ObvSpec):
        w = spec.window
        return _Simple(
            (f"obv_{w}",),
            ((), (w, 2)),
            lambda s, b, o, c: tk.obv_step(b.close, b.volume, b.valid, w, s[0], s[1], s[2], o, c),
        )
    if isinstance(spec, RealizedVolSpec):
        w = spec.window
        return _Simple(
            (f"rv_{w}",),
            ((), (w,)),
            lambda s, b, o, c: sk.realized_vol_step(b.close, b.valid, w, s[0], s[1], s[2], o, c),
        )
    if isinstance(spec, VolumeZSpec):
        w = spec.window
        return _Simple(
            (f"volz_{w}",),
            ((w,),),
            lambda s, b, o, c: sk.volume_z_step(b.volume, b.valid, w, s[0], s[1], o, c),
        )
    if isinstance(spec, AmihudSpec):
        w = spec.window
        return _Simple(
            (f"amihud_{w}",),
            ((), (w,)),
            lambda s, b, o, c: sk.amihud_step(
                b.close, b.volume, b.valid, w, s[0], s[1], s[2], o, c
            ),
        )
    if isinstance(spec, RollSpreadSpec):
        w = spec.window
        return _Simple(
            (f"roll_{w}",),
            ((), (w + 1,)),
            lambda s, b, o, c: sk.roll_step(b.close, b.valid, w, s[0], s[1], s[2], o, c),
        )
    if isinstance(spec, CorwinSchultzSpec):
        w = spec.window
        return _Simple(
            (f"cs_{w}",),
            ((3,), (w,)),
            lambda s, b, o, c: sk.cs_step(
                b.high, b.low, b.close, b.valid, w, s[0], s[1], s[2], o, c
            ),
        )
    if isinstance(spec, MarketSpec):
        w = spec.window
        return _Simple(
            (f"beta_{w}", f"corr_{w}"),
            ((), (), (w, 2)),
            lambda s, b, o, c: sk.market_step(
                b.close, b.valid, b.index_ret, w, s[0], s[1], s[2], s[3], o, c
            ),
        )
    raise ValueError(f"unknown feature kind {spec.kind!r}")
