"""Browser sessions for the dashboard: a login with the API token creates a random
session id; the cookie holds ``<id>.<HMAC(id)>`` (never the token) under a secret derived
at start, so a restart logs everyone out. CSRF tokens are HMACs of the session id.

The login form is protected too (login CSRF): ``GET /login`` sets a random nonce in a
``SameSite=Strict`` cookie and puts its HMAC in the form; ``POST /login`` needs both, so a
page on another site cannot log a browser into this server with the attacker's token."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from typing import Final

COOKIE: Final = "alphapulse_session"
LOGIN_COOKIE: Final = "alphapulse_login"
MAX_SESSIONS: Final = 1000


class CookieSessions:
    """Issued session ids with their expiry (in memory; see module doc)."""

    def __init__(self, token: str, ttl_s: float = 12 * 3600) -> None:
        self._secret = hmac.new(token.encode(), os.urandom(32), hashlib.sha256).digest()
        self._ttl = ttl_s
        self._expiry: dict[str, float] = {}

    def _mac(self, purpose: str, sid: str) -> str:
        return hmac.new(self._secret, f"{purpose}|{sid}".encode(), hashlib.sha256).hexdigest()

    def create(self) -> str:
        """A new session; the cookie value to set."""
        if len(self._expiry) >= MAX_SESSIONS:  # drop the oldest
            self._expiry.pop(min(self._expiry, key=self._expiry.__getitem__))
        sid = secrets.token_urlsafe(24)
        self._expiry[sid] = time.monotonic() + self._ttl
        return f"{sid}.{self._mac('session', sid)}"

    def session_id(self, cookie: str | None) -> str | None:
        """The live session id a cookie value proves, else None."""
        if not cookie or "." not in cookie:
            return None
        sid, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("session", sid)):
            return None
        expiry = self._expiry.get(sid)
        if expiry is None or expiry < time.monotonic():
            self._expiry.pop(sid, None)
            return None
        return sid

    def end(self, cookie: str | None) -> None:
        """Log out: the cookie's session stops being valid."""
        sid = self.session_id(cookie)
        if sid is not None:
            self._expiry.pop(sid, None)

    def csrf(self, sid: str) -> str:
        """The CSRF token forms of session ``sid`` must carry."""
        return self._mac("csrf", sid)

    def csrf_ok(self, sid: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.csrf(sid))

    def login_nonce(self) -> str:
        """A new nonce for the login cookie (see module doc)."""
        return secrets.token_urlsafe(24)

    def login_csrf(self, nonce: str) -> str:
        """The CSRF token the login form of ``nonce`` carries."""
        return self._mac("login", nonce)

    def login_ok(self, nonce: str | None, given: str | None) -> bool:
        """Whether a login post carries the form token of its cookie's nonce."""
        if not nonce or not given:
            return False
        return hmac.compare_digest(str(given), self.login_csrf(nonce))


def cookie_value(header: str | None, cookie: str = COOKIE) -> str | None:
    """The value of cookie ``cookie`` (default: the session's) in a ``Cookie`` header."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == cookie:
            return value
    return None
