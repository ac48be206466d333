"""Upper bounds shared by the configuration models."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

#: The most bars a window, lookback, horizon, lag, period or bar count of a config may
#: span: a million bars is about ten years of one-minute US sessions. Buffers of that
#: many bars are allocated when a run starts, so a larger value is a validation error
#: naming the field rather than a ``MemoryError`` (or a killed server) later.
MAX_WINDOW_BARS: Final = 1_000_000

#: A whole number of bars, at most ``MAX_WINDOW_BARS`` (add the lower bound with ``Field``).
Bars = Annotated[int, Field(le=MAX_WINDOW_BARS)]
