"""Input from an API client: validated with ``context=client_context()``.

A config file is the operator's (trusted: it may name a ``module:Class`` strategy, a
feature-set file, a news folder, a cache folder); an API request body is not. Models whose
fields could make the server import a module or read or write a path of the caller's
choosing check ``from_client(info)`` and refuse such values at any depth (pydantic hands
the context to nested models)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationInfo

_KEY = "client"
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def client_context() -> dict[str, Any]:
    """The validation context of a request body."""
    return {_KEY: True}


def from_client(info: ValidationInfo) -> bool:
    """Whether the value being validated came from an API client."""
    ctx = info.context
    return isinstance(ctx, dict) and bool(ctx.get(_KEY))


def catalog_folder(value: str, info: ValidationInfo) -> str:
    """From a client: ``value`` must name a folder of the server's data catalog (a plain
    name, no path)."""
    if not from_client(info):
        return value
    from alphapulse.data.catalog import data_root

    if not (_PLAIN.match(value) and ".." not in value and (data_root() / value).is_dir()):
        raise ValueError(
            f"{value!r}: not a dataset of the server's catalog (paths are not accepted"
            " through the API)"
        )
    return value


def operator_only(value: Any, info: ValidationInfo) -> Any:
    """From a client: the field must be left unset (a server-side location)."""
    if value is not None and from_client(info):
        raise ValueError("a server-side location, not accepted through the API")
    return value
