"""Typed errors. Every user-facing failure names the file, row or field at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class AlphaPulseError(Exception):
    """Base class of every error the platform raises on purpose."""


class ConfigError(AlphaPulseError):
    """A configuration key or value is wrong; the message names it."""


class SettingError(ConfigError, ValueError):
    """A setting that does not fit the data (e.g. more folds than times); a ValueError too."""


class DataError(AlphaPulseError):
    """Input data is unusable; carries the file, row and rule when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        field: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.rule = rule
        where = []
        if path is not None:
            where.append(f"file {path}")
        if row is not None:  # a file's 1-based line, else a frame's row position
            where.append(f"line {row}" if path is not None else f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        if rule is not None:
            where.append(f"rule {rule}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class OrderError(AlphaPulseError):
    """An order is malformed (bad side, price or quantity)."""


def validation_text(exc: ValidationError, *prefix: str) -> str:
    """A pydantic error on one line, naming the fields, never the values given:
    ``fast: Input should be greater than 0; x: unknown key`` (``prefix`` leads each path)."""
    parts = []
    for e in exc.errors(include_input=False):
        where = ".".join([*prefix, *(str(p) for p in e["loc"])]) or "(value)"
        why = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        parts.append(f"{where}: {why.removeprefix('Value error, ')}")
    return "; ".join(parts)
