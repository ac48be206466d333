"""A cap on what numpy's array constructors may allocate within a test, so a test of a
refused buffer never lets code that would allocate gigabytes do so."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

#: The most bytes ``np.full``/``zeros``/``empty``/``ones`` may hand out in a capped test.
CAP_BYTES = 256 * 1024**2
_CONSTRUCTORS = ("full", "zeros", "empty", "ones")


def cap_numpy(monkeypatch: pytest.MonkeyPatch, cap: int = CAP_BYTES) -> None:
    """Make numpy's constructors raise ``MemoryError`` once the bytes they were asked for
    in this test (8 per item) would pass ``cap``, before allocating. Only for code that
    runs no numba kernel it would compile while patched."""
    asked = [0]

    def guarded(real: Callable[..., Any]) -> Callable[..., Any]:
        def alloc(shape: Any, *args: Any, **kwargs: Any) -> Any:
            asked[0] += 8 * math.prod(np.atleast_1d(np.asarray(shape, dtype=np.int64)).tolist())
            if asked[0] > cap:
                raise MemoryError(f"test cap: {asked[0]} bytes asked for, over {cap}")
            return real(shape, *args, **kwargs)

        return alloc

    for name in _CONSTRUCTORS:
        monkeypatch.setattr(np, name, guarded(getattr(np, name)))
