"""Concise JSON errors: ``{"error": ..., "fields": [...]}``, never echoing the input (a
404 under ``/ui/`` is the dashboard's HTML page instead)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from alphapulse.api.security import redact_text

log = logging.getLogger(__name__)
_LOCATIONS = ("body", "query", "path", "header", "cookie")
_PREFIXES = ("Value error, ", "Assertion failed, ")
_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
DASHBOARD = "/ui/"


def error_response(
    status: int, message: str, fields: Sequence[dict[str, str]] = (), **kwargs: Any
) -> JSONResponse:
    """A JSON error body with ``status``."""
    return JSONResponse({"error": message, "fields": list(fields)}, status, **kwargs)


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic error dicts as ``{"field", "message"}`` (``extra`` keys: unknown key)."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        msg = "unknown key" if err.get("type") == "extra_forbidden" else str(err.get("msg", ""))
        for prefix in _PREFIXES:
            msg = msg.removeprefix(prefix)
        out.append({"field": ".".join(loc) or "(body)", "message": msg})
    return out


def invalid(errors: Sequence[Any]) -> JSONResponse:
    """A 422 listing pydantic ``errors`` by field."""
    fields = field_errors(errors)
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return error_response(422, f"invalid request: {summary}", fields)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return invalid(exc.errors())


def _allowed(request: Request) -> str:
    """Every method some route serves at this path (a 405's ``Allow``)."""
    routes = request.app.router.routes
    return ", ".join(
        m
        for m in _METHODS
        if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith(DASHBOARD):
        from alphapulse.dashboard.pages import not_found  # the dashboard imports the API

        return not_found(request, "No such page." if exc.detail == "Not Found" else exc.detail)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed(request)}
    return error_response(exc.status_code, str(exc.detail), headers=headers)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    detail = redact_text(f"{type(exc.orig).__name__}: {exc.orig}")[:300]
    log.warning("database error on %s: %s", request.url.path, detail)
    return error_response(503, "database unavailable")


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    return error_response(500, "internal error")


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(Exception, _internal)
