"""The ``sentiment`` feature kind: the news factor as ML features (sent_score,
sent_count, sent_surprise). The state holds a ``FactorStream`` carried between blocks
(linear in the rows seen), so batch and row-by-row values are equal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alphapulse.features.kinds import Block, Feature, State
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import NAMES
from alphapulse.news.loader import load_prepared
from alphapulse.news.pipeline import Prepared
from alphapulse.news.stream import FactorStream, stream_buffers

if TYPE_CHECKING:
    from alphapulse.features.config import SentimentSpec

FloatArray = npt.NDArray[np.float64]


class SentimentFeature(Feature):
    """Runtime feature of a ``SentimentSpec``; ``bind`` gives it the symbols."""

    names = NAMES

    def __init__(self, spec: SentimentSpec) -> None:
        self.spec = spec
        self.cfg = FactorConfig(
            bar=spec.bar,
            halflife=spec.halflife,
            window=spec.window,
            min_periods=spec.min_periods,
            lag_bars=spec.lag_bars,
        )
        self._symbols: tuple[str, ...] = ()
        self._items: Prepared | None = None

    def bind(self, symbols: Sequence[str]) -> None:
        self._symbols = tuple(symbols)

    def init_state(self, n: int) -> State:
        return [np.full(1, None, dtype=object)]  # the stream, made at the first block

    def state_bytes(self, n: int) -> int:
        return sum(nbytes for _, nbytes in stream_buffers(self.cfg, n).values())

    def run(self, state: State, b: Block, out: FloatArray, col: int) -> None:
        if self._items is None:
            self._items = load_prepared(self.spec.news, self._symbols, self.cfg)
        if state[0][0] is None:
            state[0][0] = FactorStream(self._items, self._symbols, self.cfg)
        values = state[0][0].update(b.timestamps)
        out[:, :, col : col + 3] = np.where(b.valid[:, :, None], values, np.nan)
