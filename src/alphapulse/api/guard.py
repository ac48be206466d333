"""ASGI middleware run before any route: the bearer token is checked before a byte of
the body is read (401), and the body is read in full only up to ``max_body`` bytes
(413, counted while streaming: ``Content-Length`` is a hint, not trusted).

A valid dashboard session cookie (``api.cookies``) also authenticates: any GET/HEAD, and
other methods only on the dashboard's own forms (``/ui/...``, ``/logout``), which check a
CSRF token. An unauthenticated browser GET of a dashboard page is sent to ``/login``."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alphapulse.api.cookies import CookieSessions, cookie_value
from alphapulse.api.security import token_matches

log = logging.getLogger(__name__)

#: Paths served without a token (probes and the API's own description).
PUBLIC = frozenset(
    {"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/login"}
)
#: Path prefixes served without a token (the dashboard's and the docs' packaged assets).
PUBLIC_PREFIXES = ("/ui/static/", "/docs/static/")
#: Paths where a session cookie may also change state (the forms check a CSRF token).
COOKIE_WRITES = ("/ui/", "/logout")
SESSION_SCOPE_KEY = "alphapulse.session"
UNAUTHORIZED = "missing or invalid bearer token"


async def _reply(send: Send, status: int, error: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": error, "fields": []}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class Guard:
    """Token first, then a bounded body (see module doc)."""

    def __init__(
        self, app: ASGIApp, token: str, max_body: int, sessions: CookieSessions | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body
        self.sessions = sessions

    def _allowed(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            return True
        if token_matches(_header(scope, b"authorization"), self.token):
            return True
        if self.sessions is None:
            return False
        sid = self.sessions.session_id(cookie_value(_header(scope, b"cookie")))
        if sid is None:
            return False
        if scope["method"] not in ("GET", "HEAD") and not path.startswith(COOKIE_WRITES):
            return False
        scope[SESSION_SCOPE_KEY] = sid
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._allowed(scope):
            if scope["method"] == "GET" and (scope["path"] == "/" or scope["path"][:4] == "/ui/"):
                head = [(b"location", b"/login"), (b"content-length", b"0")]
                await send({"type": "http.response.start", "status": 303, "headers": head})
                await send({"type": "http.response.body", "body": b""})
                return
            host = (scope.get("client") or ("?",))[0]
            log.info("rejected unauthenticated %s %s from %s", scope["method"], scope["path"], host)
            await _reply(send, 401, UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])
            return
        too_large = f"request body larger than {self.max_body} bytes"
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body:
            await _reply(send, 413, too_large, [(b"connection", b"close")])
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # disconnected
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _reply(send, 413, too_large, [(b"connection", b"close")])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        whole = b"".join(chunks)
        body: Message | None = {"type": "http.request", "body": whole, "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                out, body = body, None
                return out
            return await receive()

        await self.app(scope, replay, send)
