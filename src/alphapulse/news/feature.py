"""The ``sentiment`` feature kind: the news factor as ML features (sent_score,
sent_count, sent_surprise). Each block recomputes the factor over every stamp seen so
far and keeps the block's rows, so batch and row-by-row values are equal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alphapulse.features.kinds import Block, Feature, State
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import NAMES
from alphapulse.news.loader import load_prepared
from alphapulse.news.pipeline import Prepared, factor_values

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
        return [np.zeros(0, dtype=np.int64)]

    def run(self, state: State, b: Block, out: FloatArray, col: int) -> None:
        if self._items is None:
            self._items = load_prepared(self.spec.news, self._symbols, self.cfg)
        stamps = np.concatenate([state[0], b.timestamps])
        values = factor_values(self._items, self._symbols, stamps, self.cfg)[len(state[0]) :]
        out[:, :, col : col + 3] = np.where(b.valid[:, :, None], values, np.nan)
        state[0] = stamps
