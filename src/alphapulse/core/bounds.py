"""Upper bounds shared by the configuration models and the buffers sized by them."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field

from alphapulse.core.errors import SettingError

#: The most bars a window, lookback, horizon, lag, period or bar count of a config may
#: span: a million bars is about ten years of one-minute US sessions. Buffers of that
#: many bars are allocated when a run starts, so a larger value is a validation error
#: naming the field rather than a ``MemoryError`` (or a killed server) later.
MAX_WINDOW_BARS: Final = 1_000_000

#: The most bytes one buffer sized by a config field (a window, lag or session count
#: times the symbols, times the values kept per bar) may take: 2 GiB, 2**28 float64
#: values. A million-bar window on one symbol needs tens of MB and the 50-symbol
#: intraday runs far less; a window of a million bars on a thousand symbols would need
#: tens of GB, so ``check_buffer`` refuses it when the run's stages are built.
MAX_BUFFER_BYTES: Final = 2 * 1024**3

#: A whole number of bars, at most ``MAX_WINDOW_BARS`` (add the lower bound with ``Field``).
Bars = Annotated[int, Field(le=MAX_WINDOW_BARS)]


def _gib(nbytes: int) -> str:
    return f"{nbytes / 1024**3:.1f} GiB"


def check_buffer(field: str, value: int, n_symbols: int, nbytes: int) -> None:
    """Refuse, before it is allocated, a buffer of ``nbytes`` that config ``field``
    (set to ``value``) asks for over ``n_symbols`` symbols when it is over
    ``MAX_BUFFER_BYTES``: a one-line ``SettingError`` (a ``ValueError`` too, so a
    pydantic validator reports it under the field)."""
    if nbytes > MAX_BUFFER_BYTES:
        key = field.rsplit(".", 1)[-1]
        raise SettingError(
            f"{field} {value} x {n_symbols} symbols needs {_gib(nbytes)} of buffer, over the "
            f"{_gib(MAX_BUFFER_BYTES)} limit; use a smaller {key} or fewer symbols"
        )
