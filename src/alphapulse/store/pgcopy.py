"""PostgreSQL binary COPY format for fixed-width columns, encoded and decoded with numpy.

A binary COPY stream is a 19-byte header, then per row an int16 field count and, per
field, an int32 byte length and the big-endian value, then an int16 ``-1`` trailer. With
only NOT NULL fixed-width fields every row has the same size, so a whole stream maps to
one numpy structured array: no Python object per value in either direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["int4", "int8", "float8", "text"]
SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
HEADER: Final = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # flags, no extension
TRAILER: Final = b"\xff\xff"
_CODES: Final = MappingProxyType({"int4": ">i4", "int8": ">i8", "float8": ">f8", "text": "S"})
_NATIVE: Final = MappingProxyType({"int4": np.int32, "int8": np.int64, "float8": np.float64})


def row_dtype(kinds: Sequence[Kind], text_sizes: Sequence[int] = ()) -> np.dtype[np.void]:
    """The structured dtype of one binary COPY row of NOT NULL fields of ``kinds``;
    ``text`` fields take their byte lengths from ``text_sizes`` in order."""
    sizes = iter(text_sizes)
    fields: list[tuple[str, str]] = [("nfields", ">i2")]
    for i, kind in enumerate(kinds):
        code = f"S{next(sizes)}" if kind == "text" else _CODES[kind]
        fields += [(f"len{i}", ">i4"), (f"v{i}", code)]
    return np.dtype(fields)


def encode_rows(columns: Sequence[tuple[Kind, npt.NDArray[np.generic] | bytes]], n: int) -> bytes:
    """``n`` binary COPY rows, without header or trailer. A ``text`` column is one
    ``bytes`` value repeated on every row; the others are arrays of length ``n``."""
    kinds = [kind for kind, _ in columns]
    texts = [v for k, v in columns if k == "text"]
    dtype = row_dtype(kinds, [len(t) for t in texts])
    rows = np.empty(n, dtype=dtype)
    rows["nfields"] = len(columns)
    for i, (_, values) in enumerate(columns):
        field = dtype.fields[f"v{i}"][0]  # type: ignore[index]
        rows[f"len{i}"] = field.itemsize
        rows[f"v{i}"] = values
    return rows.tobytes()


def encode(columns: Sequence[tuple[Kind, npt.NDArray[np.generic]]]) -> bytes:
    """A complete binary COPY stream of the given equal-length columns."""
    n = len(columns[0][1]) if columns else 0
    return HEADER + encode_rows(columns, n) + TRAILER


def decode(stream: bytes, kinds: Sequence[Kind]) -> list[npt.NDArray[np.generic]]:
    """The columns (native byte order) of a binary COPY stream of NOT NULL ``kinds``."""
    if not stream.startswith(SIGNATURE) or not stream.endswith(TRAILER):
        raise ValueError("not a binary COPY stream")
    offset = 19 + int.from_bytes(stream[15:19], "big")
    dtype = row_dtype(kinds)
    body = len(stream) - offset - len(TRAILER)
    if body < 0 or body % dtype.itemsize:
        raise ValueError("binary COPY stream has NULLs or unexpected field widths")
    rows = np.frombuffer(stream, dtype=dtype, count=body // dtype.itemsize, offset=offset)
    widths_ok = all(
        bool((rows[f"len{i}"] == np.dtype(_CODES[k]).itemsize).all()) for i, k in enumerate(kinds)
    )
    if not widths_ok or not bool((rows["nfields"] == len(kinds)).all()):
        raise ValueError("binary COPY stream has NULLs or unexpected field widths")
    return [rows[f"v{i}"].astype(_NATIVE[k]) for i, k in enumerate(kinds)]
