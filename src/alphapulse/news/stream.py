"""Incremental news factor for bar-by-bar use (strategy, feature): items are consumed in
``known_at`` order as bars arrive and the factor state is carried between bars, so each
bar costs its own items plus O(N x window), and T bars cost O(T). It equals
``pipeline.factor_values`` on the same stamps (tests/news/test_stream.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.bounds import check_buffer
from alphapulse.news.config import FactorConfig
from alphapulse.news.factor import BarSums, FactorState, decision_times, previous_decision
from alphapulse.news.guard import damping
from alphapulse.news.pipeline import Prepared

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Scores of the items at the given positions (of ``Prepared``), asked when they arrive.
Scorer = Callable[[IntArray], FloatArray]


def stream_buffers(cfg: FactorConfig, n: int) -> dict[str, tuple[int, int]]:
    """The stream's buffers over ``n`` symbols that ``cfg`` sizes: key -> (value, bytes)."""
    return {
        "window": (cfg.window, 8 * n * cfg.window),  # the surprise ring
        "lag_bars": (cfg.lag_bars, 24 * n * cfg.lag_bars),  # [3, n] sums per pending bar
        "guard.burst_window": (cfg.guard.burst_window, 8 * n * cfg.guard.burst_window),
    }


def check_stream(cfg: FactorConfig, n: int, prefix: str = "factor") -> None:
    """Refuse a factor whose buffers over ``n`` symbols are over ``MAX_BUFFER_BYTES``."""
    for key, (value, nbytes) in stream_buffers(cfg, n).items():
        check_buffer(f"{prefix}.{key}", value, n, nbytes)


class FactorStream:
    """Factor values of the next bars from their stamps; ``work`` counts the stamps and
    items processed (linear in the bars seen)."""

    def __init__(
        self,
        items: Prepared,
        symbols: Sequence[str],
        cfg: FactorConfig,
        calendar: str = "XNYS",
        scorer: Scorer | None = None,
    ) -> None:
        self.cfg, self.calendar = cfg, calendar
        lookup = pd.Index(list(symbols))
        sym = lookup.get_indexer(pd.Index(items.table["symbol"])).astype(np.int64)
        self._order = np.argsort(items.known_ns, kind="stable")
        self._known = items.known_ns[self._order]
        self._sym = sym[self._order]
        self._weights = items.weights[self._order]
        self._scores = items.scores[self._order]
        self._scorer = scorer
        self._pos = 0
        n = len(symbols)
        check_stream(cfg, n)
        self._pending: deque[FloatArray] = deque(np.zeros((3, n)) for _ in range(cfg.lag_bars))
        self._counts = np.zeros((cfg.guard.burst_window, n))  # counts of the bars seen, ring
        self._row = 0
        self._last_stamp: int | None = None  # the last bar's stamp (bars no closer than bar)
        self._state = FactorState(n, cfg)
        self.work = 0

    def _arrivals(self, decision: int) -> FloatArray:
        """[3, N] weighted score sum, weight sum and count of the items known by
        ``decision`` and not yet consumed."""
        end = max(int(np.searchsorted(self._known, decision, side="right")), self._pos)
        sl = slice(self._pos, end)
        self._pos = end
        self.work += end - sl.start
        scores = self._scores[sl]
        if self._scorer is not None and end > sl.start:
            scores = self._scorer(self._order[sl])
        weights, sym = self._weights[sl], self._sym[sl]
        ok = (sym >= 0) & np.isfinite(scores) & (weights > 0)
        s, w = sym[ok], weights[ok]
        out = np.zeros((3, len(self._state.seen)))
        np.add.at(out[0], s, w * scores[ok])
        np.add.at(out[1], s, w)
        np.add.at(out[2], s, 1.0)
        return out

    def _damp(self, sums: FloatArray) -> FloatArray:
        """Burst damping of one lagged bar against the trailing median count of the bars
        seen (the first ``lag_bars``, queued empty, are none: ``guard.burst_scale``)."""
        g = self.cfg.guard
        count = sums[2]
        seen = self._row - self.cfg.lag_bars
        history = self._counts[: min(max(seen, 0), g.burst_window)]
        median = np.median(history, axis=0) if len(history) else np.full(len(count), np.nan)
        scale = damping(count, median, g)
        if seen >= 0:
            self._counts[seen % g.burst_window] = count
        self._row += 1
        return np.stack([sums[0] * scale, sums[1] * scale, count])

    def update(self, timestamps: IntArray) -> FloatArray:
        """[T, N, 3] values (news.factor.NAMES) of the next ``timestamps``."""
        ts = np.asarray(timestamps, np.int64)
        decisions = decision_times(ts, self.cfg.bar, self.calendar, self._last_stamp)
        if len(ts):
            self._last_stamp = int(ts[-1])
        if self._row == 0 and len(decisions):  # items known before the data: left out
            after = previous_decision(decisions, self.cfg.bar, self.calendar)
            self._pos = int(np.searchsorted(self._known, after, side="right"))
        out = np.empty((len(decisions), len(self._state.seen), 3))
        for k, decision in enumerate(decisions):
            self.work += 1
            self._pending.append(self._arrivals(int(decision)))
            d = self._damp(self._pending.popleft())
            out[k] = self._state.update(BarSums(d[0:1], d[1:2], d[2:3]))[0]
        return out
