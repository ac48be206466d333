"""ASGI middleware run before any route: the bearer token is checked before a byte of
the body is read (401), and the body is read in full only up to ``max_body`` bytes
(413, counted while streaming: ``Content-Length`` is a hint, not trusted)."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alphapulse.api.security import token_matches

log = logging.getLogger(__name__)

#: Paths served without a token (probes and the API's own description).
PUBLIC = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/openapi.json"})
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

    def __init__(self, app: ASGIApp, token: str, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] not in PUBLIC and not token_matches(
            _header(scope, b"authorization"), self.token
        ):
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
