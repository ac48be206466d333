"""Column types shared by the schema and the migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def key_string(length: int) -> TypeEngine[str]:
    """A short identifier (symbol, timeframe, kind): byte-wise ``COLLATE "C"`` on
    PostgreSQL, which makes index comparisons much cheaper than a locale collation."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def json_type() -> TypeEngine[Any]:
    """JSON text on SQLite, ``JSONB`` on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


def id_type() -> TypeEngine[int]:
    """An auto-increment surrogate key: BIGINT, but SQLite's INTEGER rowid alias."""
    return BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime``. Naive values are rejected on write; SQLite
    (which has no time zones) stores naive UTC and gets ``tzinfo=UTC`` back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
