"""The strategy plugin API: a Params model and one method, ``on_bar(ctx)``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from alphapulse.sweep.signals import VectorSignals


class StrategyParams(BaseModel):
    """Typed, validated strategy parameters (unknown keys are an error; numbers are
    finite: Infinity or NaN from a config is an error naming the field)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Strategy(ABC):
    """Subclass, declare ``Params``, implement ``on_bar``. ``on_bar`` sees only data up to
    the current bar and returns Signals (direction per symbol; NaN = keep) or None."""

    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: StrategyParams | None = None, **kwargs: Any) -> None:
        self.p: Any = params if params is not None else self.Params(**kwargs)

    @abstractmethod
    def on_bar(self, ctx: Context) -> Signals | None:
        """Return this bar's signals, or None to leave everything as it is."""

    def vectorized_signals(
        self, prices: npt.NDArray[np.float64], fields: Mapping[str, npt.NDArray[np.float64]]
    ) -> VectorSignals | None:
        """Optional: the directions ``on_bar`` would return at every row at once, from
        ``prices`` (forward-filled closes, [T, N], what ``ctx.prices`` reads) and the
        panel ``fields``; row t may use rows <= t only. Declaring it lets
        ``engine: compiled`` run the strategy in the numba kernel. Default: None."""
        return None

    def strategy_outputs(self) -> dict[str, pd.DataFrame]:
        """Extra tables a run writes next to its outputs, ``{file stem: frame}`` (e.g. the
        ML strategy's ``drift_events``); collected after the run. Default: none."""
        return {}
