"""Back-adjust prices for splits and cash dividends from action columns (CRSP-style factors).

For a split of ratio r effective on day t, prices before t are divided by r and volumes
multiplied by r. For a cash dividend D with ex-date t, prices before t are multiplied by
(1 - D / close[t-1]), with close[t-1] in the share basis of D: a dividend is per share as
traded on its ex-date (CRSP adjusts it with that day's price factor), so on a split's
ex-date it is per post-split share and, where the prices do not already reflect the split,
close[t-1] is divided by r. Factors compound backwards from the newest bar, which keeps
factor 1.

Adjusting twice is prevented: a frame carrying ``adj_factor`` (or ``attrs['adjusted']``) is
returned unchanged with a note (or DataError with ``if_adjusted='raise'``), and action columns
that a dataset spec marks as already applied (``splits_applied``) are not applied again.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.core.errors import DataError

FloatArray = npt.NDArray[np.float64]
NOTES = "adjustment_notes"


def _note(df: pd.DataFrame, text: str) -> None:
    df.attrs[NOTES] = [*df.attrs.get(NOTES, []), text]


def _ratios(split: FloatArray) -> FloatArray:
    return np.where(np.isnan(split) | (split == 0), 1.0, split)


def split_factors(split: FloatArray) -> FloatArray:
    """Cumulative split factor per row: product of the split ratios strictly after the row.

    Ratios of 0, 1 or NaN mean no split; ratios must not be negative (``back_adjust``
    checks).
    """
    after = np.concatenate([_ratios(split)[1:], [1.0]])
    return np.cumprod(after[::-1])[::-1]


def dividend_factors(
    dividend: FloatArray, close: FloatArray, split: FloatArray | None = None
) -> FloatArray:
    """Cumulative dividend factor per row: product of (1 - D/close[t-1]) over ex-dates after it.

    ``split`` is the split column of prices that do not reflect it yet: close[t-1] is divided
    by the ratio of a split on row t, into the post-split basis of the dividend on row t.
    """
    d = np.where(np.isnan(dividend), 0.0, dividend)
    ratio = np.ones(len(d)) if split is None else _ratios(split)
    prev_close = np.concatenate([[np.nan], close[:-1]]) / ratio
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(d > 0, 1.0 - d / prev_close, 1.0)
    if d[0] > 0:
        step[0] = 1.0  # no previous close: nothing before it to adjust
    bad = ~np.isfinite(step) | (step <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        basis = f" ({close[i - 1]} / split {ratio[i]})" if ratio[i] != 1 else ""
        raise DataError(
            f"dividend {d[i]} on row {i} cannot be applied to previous close "
            f"{prev_close[i]}{basis}",
            field="dividend",
            rule="dividend_factor",
        )
    after = np.concatenate([step[1:], [1.0]])
    return np.cumprod(after[::-1])[::-1]


def check_actions(frame: pd.DataFrame) -> None:
    """DataError naming the first bar with an infinite or negative dividend or split."""
    for col in ("dividend", "split"):
        if col in frame.columns:
            v = frame[col].to_numpy(dtype=np.float64)
            bad = np.isinf(v) | (v < 0)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    f"{col} {v[i]:g} on {frame.index[i]} must be finite and >= 0",
                    field=col,
                    rule="negative_action",
                )


def is_adjusted(frame: pd.DataFrame) -> bool:
    """True if ``back_adjust`` already ran on this frame."""
    return "adj_factor" in frame.columns or bool(frame.attrs.get("adjusted"))


def back_adjust(
    frame: pd.DataFrame,
    *,
    splits: bool = True,
    dividends: bool = True,
    if_adjusted: Literal["skip", "raise"] = "skip",
) -> pd.DataFrame:
    """A copy of ``frame`` with open/high/low/close (and volume, dividend) back-adjusted.

    Adds ``adj_factor`` (price multiplier, 1 on the newest bar) and ``split_factor`` (volume
    divisor). Notes on what was skipped go to ``attrs['adjustment_notes']``.
    """
    out = frame.copy()
    out.attrs = dict(frame.attrs)
    if is_adjusted(frame):
        if if_adjusted == "raise":
            raise DataError("frame is already back-adjusted (has adj_factor)", rule="adjust_twice")
        _note(out, "already adjusted: returned unchanged")
        return out
    if not frame.index.is_monotonic_increasing:
        raise DataError("frame must be sorted by time before adjusting")
    check_actions(frame)
    n = len(frame)
    sf = np.ones(n)
    df = np.ones(n)
    if splits and "split" in frame.columns:
        if frame.attrs.get("splits_applied"):
            _note(out, "split column already reflected in prices: splits not applied again")
        else:
            sf = split_factors(frame["split"].to_numpy(dtype=np.float64))
    elif splits:
        _note(out, "no split column")
    if dividends and "dividend" in frame.columns:
        if frame.attrs.get("dividends_applied"):
            _note(out, "dividends already reflected in prices: not applied again")
        else:
            close = frame["close"].to_numpy(dtype=np.float64)
            unapplied = "split" in frame.columns and not frame.attrs.get("splits_applied")
            split = frame["split"].to_numpy(dtype=np.float64) if unapplied else None
            df = dividend_factors(frame["dividend"].to_numpy(dtype=np.float64), close, split)
    elif dividends:
        _note(out, "no dividend column")
    price_factor = df / sf
    for c in ("open", "high", "low", "close"):
        out[c] = frame[c].to_numpy(dtype=np.float64) * price_factor
    out["volume"] = frame["volume"].to_numpy(dtype=np.float64) * sf
    if "dividend" in frame.columns:
        out["dividend"] = frame["dividend"].to_numpy(dtype=np.float64) / sf
    out["adj_factor"] = price_factor
    out["split_factor"] = sf
    out.attrs.update(
        adjusted=True,
        split_adjusted=bool(frame.attrs.get("split_adjusted")) or bool((sf != 1).any()),
        dividend_adjusted=bool(frame.attrs.get("dividend_adjusted")) or bool((df != 1).any()),
        splits_applied=True,
        dividends_applied=True,
    )
    return out


def has_unapplied_actions(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds a split or cash dividend its prices do not reflect yet (a
    split on its first bar adjusts nothing before it and does not count)."""
    if is_adjusted(frame):
        return False
    checks = (("split", "splits_applied", 1.0), ("dividend", "dividends_applied", 0.0))
    for col, applied, none in checks:
        if col in frame.columns and not frame.attrs.get(applied):
            v = frame[col].to_numpy(dtype=np.float64)[1:]
            if (np.isfinite(v) & (v != none) & (v != 0)).any():
                return True
    return False


def tradable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as the engine trades it: back-adjusted when it holds actions its prices do
    not reflect (a held position would otherwise read a 4:1 split as a 75% loss and miss
    its dividends), else unchanged."""
    return back_adjust(frame) if has_unapplied_actions(frame) else frame
