"""The error responses each operation declares in OpenAPI (all with ``ErrorBody``), so
that a client (and ``tests/api/test_api_schema.py``) sees every status it can get."""

from __future__ import annotations

from typing import Any

from alphapulse.api.schemas import ErrorBody

Responses = dict[int | str, dict[str, Any]]

_WHY = {
    400: "the body is not JSON (or not UTF-8)",
    401: "missing or invalid bearer token (header `WWW-Authenticate: Bearer`)",
    404: "unknown run, strategy or paper session",
    409: "the run has no summary yet (still running, failed or cancelled)",
    413: "request body larger than the server's limit (`ALPHAPULSE_API_MAX_BODY`)",
    422: "invalid input; `fields` names each offending field",
    503: "database unavailable, or the API not started",
}


def declared(*codes: int) -> Responses:
    """The OpenAPI ``responses`` entries of ``codes`` (an ``ErrorBody`` each)."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


#: Every route behind the token: the guard (401, 413) and the store (503).
PROTECTED = declared(401, 413, 503)
