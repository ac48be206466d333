"""A test executor for background HMM fits with deterministic timing in bars."""

from __future__ import annotations

from collections.abc import Callable, Collection
from concurrent.futures import Executor, Future
from typing import Any

from alphapulse.regimes.hmm import HMMRegime


def bar_of(det: HMMRegime) -> int:
    """The bar the detector is at (its feature rows so far, less one)."""
    return len(det._x) - 1


class _Ready(Future[Any]):
    """A finished fit that reports done only from bar ``ready`` of ``det`` on."""

    def __init__(self, det: HMMRegime, ready: int) -> None:
        super().__init__()
        self.det, self.ready = det, ready

    def done(self) -> bool:
        return bar_of(self.det) >= self.ready and super().done()


class BarLag(Executor):
    """Runs a fit at once (same rows, same warm start); it completes ``lag(bar)`` bars
    after the bar it was submitted at, and fails when submitted at a bar in ``fail``."""

    def __init__(
        self, det: HMMRegime, lag: Callable[[int], int], fail: Collection[int] = ()
    ) -> None:
        self.det, self.lag, self.fail = det, lag, fail

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        bar = bar_of(self.det)
        fut = _Ready(self.det, bar + self.lag(bar))
        try:
            if bar in self.fail:
                raise RuntimeError(f"fit at bar {bar} fails")
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:
            fut.set_exception(exc)
        return fut
