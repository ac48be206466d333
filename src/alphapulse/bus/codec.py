"""Compact binary serialisation of bus messages (no pickle).

Layout (little-endian): ``u8 version, u8 kind`` and then each dataclass field in order:
int ``i64``; float ``f64`` (IEEE bits kept exactly, NaN payloads included); str ``u32``
length + UTF-8; optional int/float ``u8`` flag + value; string tuple ``u32`` count +
strings; float64 array ``u32`` length + raw ``f64`` values. A decoder rejects unknown
versions and kinds, truncated input and trailing bytes.
"""

from __future__ import annotations

import struct
import typing
from collections.abc import Callable
from dataclasses import fields
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from alphapulse.bus.messages import MESSAGE_TYPES, FloatArray, Message

VERSION: Final = 1
_HEAD: Final = struct.Struct("<BB")
_I64: Final = struct.Struct("<q")
_F64: Final = struct.Struct("<d")
_U32: Final = struct.Struct("<I")
_FLAG: Final = struct.Struct("<B")


class MessageError(ValueError):
    """A message cannot be encoded, or bytes are not a valid encoded message."""


class _Kind(Enum):
    INT = "i64"
    FLOAT = "f64"
    STR = "str"
    OPT_INT = "i64?"
    OPT_FLOAT = "f64?"
    STRS = "str*"
    ARRAY = "f64*"


_HINTS: Final = (
    (int, _Kind.INT),
    (float, _Kind.FLOAT),
    (str, _Kind.STR),
    (int | None, _Kind.OPT_INT),
    (float | None, _Kind.OPT_FLOAT),
    (tuple[str, ...], _Kind.STRS),
    (FloatArray, _Kind.ARRAY),
)


def _field_kinds(cls: type) -> tuple[tuple[str, _Kind], ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        kind = next((k for hint, k in _HINTS if hint == hints[f.name]), None)
        if kind is None:
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported type {hints[f.name]}")
        out.append((f.name, kind))
    return tuple(out)


_BY_TYPE: Final = MappingProxyType({cls: _field_kinds(cls) for cls in MESSAGE_TYPES})
_BY_KIND: Final = MappingProxyType({cls.KIND: cls for cls in MESSAGE_TYPES})


def _put_str(out: list[bytes], value: str) -> None:
    raw = value.encode("utf-8")
    out += (_U32.pack(len(raw)), raw)


def _put(out: list[bytes], kind: _Kind, value: Any) -> None:
    if kind is _Kind.INT:
        out.append(_I64.pack(value))
    elif kind is _Kind.FLOAT:
        out.append(_F64.pack(value))
    elif kind is _Kind.STR:
        _put_str(out, value)
    elif kind in (_Kind.OPT_INT, _Kind.OPT_FLOAT):
        if value is None:
            out.append(b"\x00")
        else:
            out += (b"\x01", (_I64 if kind is _Kind.OPT_INT else _F64).pack(value))
    elif kind is _Kind.STRS:
        out.append(_U32.pack(len(value)))
        for item in value:
            _put_str(out, item)
    else:
        arr = np.asarray(value, dtype="<f8")
        out += (_U32.pack(arr.size), arr.tobytes())


def encode(message: Message) -> bytes:
    """The bytes of ``message``; ``MessageError`` for values outside the wire types
    (e.g. ints beyond int64, strings that are not valid Unicode)."""
    spec = _BY_TYPE.get(type(message))
    if spec is None:
        raise MessageError(f"not a bus message: {type(message).__name__}")
    out = [_HEAD.pack(VERSION, message.KIND)]
    for name, kind in spec:
        try:
            _put(out, kind, getattr(message, name))
        except (struct.error, UnicodeError, TypeError, ValueError) as exc:
            raise MessageError(f"{type(message).__name__}.{name}: {exc}") from exc
    return b"".join(out)


class _Reader:
    """A cursor over encoded bytes that fails with ``MessageError`` when they run out."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        end = self.pos + n
        if end > len(self.data):
            raise MessageError(f"truncated message: needs {end} bytes, has {len(self.data)}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: struct.Struct) -> Any:
        return fmt.unpack(self.take(fmt.size))[0]

    def text(self) -> str:
        try:
            return str(self.take(self.unpack(_U32)), "utf-8")
        except UnicodeDecodeError as exc:
            raise MessageError(f"bad UTF-8 in message: {exc}") from exc


def _get_array(r: _Reader) -> FloatArray:
    n = r.unpack(_U32)
    return np.frombuffer(r.take(8 * n).tobytes(), dtype="<f8").astype(np.float64, copy=False)


def _get_optional(fmt: struct.Struct) -> Callable[[_Reader], Any]:
    def get(r: _Reader) -> Any:
        flag = r.unpack(_FLAG)
        if flag > 1:
            raise MessageError(f"bad optional flag {flag}")
        return r.unpack(fmt) if flag else None

    return get


_GET: Final[MappingProxyType[_Kind, Callable[[_Reader], Any]]] = MappingProxyType(
    {
        _Kind.INT: lambda r: r.unpack(_I64),
        _Kind.FLOAT: lambda r: r.unpack(_F64),
        _Kind.STR: _Reader.text,
        _Kind.OPT_INT: _get_optional(_I64),
        _Kind.OPT_FLOAT: _get_optional(_F64),
        _Kind.STRS: lambda r: tuple(r.text() for _ in range(r.unpack(_U32))),
        _Kind.ARRAY: _get_array,
    }
)


def decode(data: bytes) -> Message:
    """The message encoded in ``data``; ``MessageError`` if it is not one."""
    r = _Reader(data)
    version, kind = _HEAD.unpack(r.take(_HEAD.size))
    if version != VERSION:
        raise MessageError(f"unsupported message version {version} (expected {VERSION})")
    cls = _BY_KIND.get(kind)
    if cls is None:
        raise MessageError(f"unknown message kind {kind}")
    values = {name: _GET[k](r) for name, k in _BY_TYPE[cls]}
    if r.pos != len(r.data):
        raise MessageError(f"{len(r.data) - r.pos} trailing bytes after {cls.__name__}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise MessageError(f"invalid {cls.__name__}: {exc}") from exc
