"""JSON request bodies read strictly: a key given twice in one object is a 422 naming it
(``json`` would keep the last one silently), as in config files."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from alphapulse.api.errors import invalid


class _Repeated(dict[str, Any]):
    """A JSON object that gave ``key`` more than once."""

    key: str


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            repeated = _Repeated(pairs)
            repeated.key = key
            return repeated
        out[key] = value
    return out


def repeated_key(body: bytes) -> list[str] | None:
    """The path of the first key given twice in an object of the JSON ``body``; None if
    there is none or ``body`` is no JSON (FastAPI reports that)."""
    try:
        doc = json.loads(body, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return None
    todo: list[tuple[list[str], Any]] = [([], doc)]
    while todo:
        where, value = todo.pop()
        if isinstance(value, _Repeated):
            return [*where, value.key]
        if isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            todo += [([*where, str(k)], v) for k, v in reversed(list(items))]
    return None


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class StrictJsonRoute(APIRoute):
    """A route whose JSON body may not repeat a key in any object (422 naming it)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            if _is_json(request):
                where = repeated_key(await request.body())
                if where is not None:
                    error = {"loc": ("body", *where), "msg": "key given twice"}
                    return invalid([error])
            return await handle(request)

        return handler
