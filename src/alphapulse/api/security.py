"""Bearer-token authentication and secret hygiene (masked URLs, redacted payloads)."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

MASK = "***"
#: ``scheme://user:password@`` inside free text.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*@")
#: Keys whose values are secrets wherever they appear in a JSON document.
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|credential)", re.IGNORECASE)
_SCHEME = "bearer "


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also for unparsable URLs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _URL_PASSWORD.sub(rf"\1{MASK}@", url)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL passwords and without any of ``secrets`` (non-empty ones)."""
    out = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, MASK)
    return out


def redact(value: Any) -> Any:
    """A JSON-like value with secret-named keys masked and URL passwords removed."""
    if isinstance(value, dict):
        return {
            k: (MASK if v is not None and _SECRET_KEY.search(str(k)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_text(value)
    return value


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time compare)."""
    if not header or header[: len(_SCHEME)].lower() != _SCHEME:
        return False
    given = header[len(_SCHEME) :].strip().encode()
    return hmac.compare_digest(given, token.encode())


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the app's bearer token (or the
    guard accepted a dashboard session cookie for it, ``api.guard``)."""
    if request.scope.get("alphapulse.session"):
        return
    token = request.app.state.api.settings.token.get_secret_value()
    if token_matches(request.headers.get("authorization"), token):
        return
    client = request.client.host if request.client else "?"
    log.info("rejected unauthenticated %s %s from %s", request.method, request.url.path, client)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "missing or invalid bearer token",
        headers={"WWW-Authenticate": "Bearer"},
    )
