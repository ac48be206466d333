"""Values a run can hold: whole numbers within 64 bits (numpy, numba and the database
hold no more) and text without NUL characters (PostgreSQL refuses them)."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from pydantic import AfterValidator, BaseModel, model_validator

_INT64 = range(-(2**63), 2**63)
T = TypeVar("T")


def unstorable(value: Any, path: str = "") -> str | None:
    """The first value inside ``value`` (models, mappings, lists) that a run cannot hold,
    as ``"dotted.path: why"`` (``why`` alone for ``value`` itself): a whole number beyond
    64 bits (numpy, numba and the database hold no more) or text with a NUL character
    (PostgreSQL refuses it); None if there is none."""
    todo: list[tuple[str, Any]] = [(path, value)]
    while todo:
        where, v = todo.pop()
        if isinstance(v, BaseModel):
            v = {k: getattr(v, k) for k in type(v).model_fields}
        elif isinstance(v, list | tuple):
            v = dict(enumerate(v))
        why = None
        if isinstance(v, dict):
            if any(isinstance(k, str) and "\x00" in k for k in v):
                why = "a key may not hold a NUL character"
            todo += [(f"{where}.{k}" if where else str(k), x) for k, x in reversed(v.items())]
        elif isinstance(v, str) and "\x00" in v:
            why = "text may not hold a NUL character"
        elif isinstance(v, int) and not isinstance(v, bool) and v not in _INT64:
            why = "a whole number beyond 64 bits (from -2**63 to 2**63 - 1)"
        if why:
            return f"{where}: {why}" if where else why
    return None


class Storable(BaseModel):
    """A configuration whose every value a run can hold (``unstorable``: the first one
    that cannot is the error)."""

    @model_validator(mode="after")
    def _storable(self) -> Self:
        bad = unstorable(self)
        if bad:
            raise ValueError(bad)
        return self


def storable(value: T) -> T:
    """``value`` when a run (and so the database) can hold it, else a ``ValueError``
    saying why: a pydantic validator for request fields and query parameters."""
    bad = unstorable(value)
    if bad:
        raise ValueError(bad)
    return value


#: ``Annotated[str, ..., StorableText]``: a parameter the database can compare.
StorableText = AfterValidator(storable)
