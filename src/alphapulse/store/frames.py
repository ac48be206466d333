"""DataFrame -> row dicts for the small tables, with per-column validation.

A :class:`Col` names the table column, the frame columns it may come from, its kind and
whether it is required; :func:`frame_records` checks and converts a whole frame at once
(NaN becomes ``NULL``; a NaN in a required column is a ``DataError`` naming it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.store.validate import check_symbol, float_column, ns_column, symbol_codes

Kind = Literal["float", "int", "str", "key", "ns", "symbol", "side", "json", "date"]
KEY_LEN: Final = 64
_SIDES: Final = MappingProxyType(
    {"buy": "buy", "b": "buy", "long": "buy", "1": "buy"}
    | {"sell": "sell", "s": "sell", "short": "sell", "-1": "sell"}
)


@dataclass(frozen=True)
class Col:
    """One table column filled from a frame column (the first of ``sources`` present)."""

    name: str
    kind: Kind
    required: bool = False
    sources: tuple[str, ...] = ()
    default: Any = None

    def source_in(self, df: pd.DataFrame) -> str | None:
        """The frame column this one is read from, if any."""
        return next((s for s in (self.sources or (self.name,)) if s in df.columns), None)


def frame_records(
    df: pd.DataFrame | None, cols: Sequence[Col], *, what: str
) -> list[dict[str, Any]]:
    """Validated row dicts of ``df`` (positional rows; unknown frame columns are ignored).
    ``None`` or a frame without rows gives no rows."""
    if df is None or (isinstance(df, pd.DataFrame) and len(df) == 0):
        return []
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}", rule="type")
    n = len(df)
    values: dict[str, list[Any]] = {}
    for col in cols:
        source = col.source_in(df)
        if source is None:
            if col.required:
                raise DataError(
                    f"{what} is missing required column {col.name!r}",
                    field=col.name,
                    rule="required_column",
                )
            values[col.name] = [col.default] * n
            continue
        values[col.name] = _convert(df, source, col)
    names = list(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*values.values(), strict=True)]


def _convert(df: pd.DataFrame, source: str, col: Col) -> list[Any]:
    frame = df if source == col.name else df.rename(columns={source: col.name})
    if col.kind in ("float", "int"):
        arr = float_column(frame, col.name, allow_nan=not col.required)
        if col.kind == "int":
            bad = ~np.isnan(arr) & (arr != np.floor(arr))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError("not a whole number", field=col.name, row=row, rule="integer")
        cast = int if col.kind == "int" else float
        return [None if math.isnan(v) else cast(v) for v in arr.tolist()]
    if col.kind in ("ns", "symbol"):
        return _optional(frame, col)
    if col.kind == "date":
        return _dates(frame[col.name], col)
    out = [_text(v, col) for v in frame[col.name].tolist()]
    for row, value in enumerate(out):
        if value is None and col.required:
            raise DataError("missing value", field=col.name, row=row, rule="not_null")
        if value is not None and col.kind == "side":
            out[row] = _side(value, col.name, row)
        elif value is not None and col.kind == "key" and not 0 < len(value) <= KEY_LEN:
            raise DataError(f"must be 1-{KEY_LEN} characters", field=col.name, row=row, rule="key")
        elif col.kind == "json":
            out[row] = json_safe(frame[col.name].iloc[row])
    return out


def _optional(frame: pd.DataFrame, col: Col) -> list[Any]:
    """Timestamps (ns) or symbols; missing values are errors only in required columns."""
    missing = frame[col.name].isna().to_numpy()
    if col.required or not missing.any():
        if col.kind == "ns":
            return ns_column(frame, col.name, allow_int=True).tolist()
        codes, symbols = symbol_codes(frame, col.name)
        return [symbols[c] for c in codes.tolist()]
    out: list[Any] = [col.default] * len(frame)
    present = np.flatnonzero(~missing)
    if col.kind == "ns" and len(present):
        values = ns_column(frame.iloc[present], col.name, allow_int=True).tolist()
        for i, value in zip(present.tolist(), values, strict=True):
            out[i] = value
    elif col.kind == "symbol":
        for i in present.tolist():
            out[i] = check_symbol(frame[col.name].iloc[i], field=col.name, row=i)
    return out


def _text(value: Any, col: Col) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return col.default
    if col.kind == "json":
        return value
    if isinstance(value, Enum):
        value = value.name if col.kind == "side" else value.value
    return str(value)


def _side(value: str, field: str, row: int) -> str:
    key = value.strip().lower()
    side = _SIDES.get(key)
    if side is None:
        raise DataError(f"bad side {value!r}: use buy or sell", field=field, row=row, rule="side")
    return side


def _dates(values: pd.Series, col: Col) -> list[date | None]:
    try:
        parsed = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as exc:
        raise DataError(f"not dates: {exc}", field=col.name, rule="date") from exc
    out: list[date | None] = [None if ts is pd.NaT else ts.date() for ts in parsed]
    if col.required and None in out:
        raise DataError("missing date", field=col.name, row=out.index(None), rule="not_null")
    return out


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: NaN/inf -> None, numpy -> Python, datetimes -> ISO."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, Path):
        return str(value)
    dump = getattr(value, "model_dump", None)  # pydantic models
    if callable(dump):
        return json_safe(dump(mode="json"))
    return json.loads(json.dumps(value, default=str))
