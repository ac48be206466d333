"""Shared check that two engine runs ended in exactly the same accounts."""

from __future__ import annotations

import numpy as np

from alphapulse.engine.loop import RunResult


def assert_same_accounts(a: RunResult, b: RunResult) -> None:
    """Equity, cash and exposure paths, final positions and totals are bit-identical."""
    for name in ("timestamps", "equity", "cash", "gross_exposure", "net_exposure"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.final_positions, b.final_positions)
    assert (a.total_fees, a.total_realized, a.traded_notional) == (
        b.total_fees,
        b.total_realized,
        b.traded_notional,
    )
