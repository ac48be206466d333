"""``/login`` (a form that takes the API token and sets the session cookie; the form
itself is CSRF-protected by a nonce cookie, ``api.cookies``) and ``/logout``."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alphapulse.api.cookies import COOKIE, LOGIN_COOKIE, cookie_value
from alphapulse.api.security import token_matches
from alphapulse.dashboard.web import check_csrf, cookie_sessions, render

log = logging.getLogger(__name__)


def login_page(request: Request, status_code: int = 200, error: str | None = None) -> Response:
    """The login form with the CSRF token of its nonce cookie (kept, or a new one)."""
    sessions = cookie_sessions(request)
    nonce = cookie_value(request.headers.get("cookie"), LOGIN_COOKIE) or sessions.login_nonce()
    response = render(
        request, "login.html", status_code, error=error, csrf=sessions.login_csrf(nonce)
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        token: Annotated[str, Form(max_length=4096)] = "",
        csrf: Annotated[str, Form(max_length=256)] = "",
    ) -> Response:
        host = request.client.host if request.client else "?"
        nonce = cookie_value(request.headers.get("cookie"), LOGIN_COOKIE)
        if not cookie_sessions(request).login_ok(nonce, csrf):
            log.info("dashboard login without a valid CSRF token from %s", host)
            error = "The login form expired or came from another site; try again."
            return login_page(request, 403, error)
        expected = request.app.state.api.settings.token.get_secret_value()
        if not token_matches(f"Bearer {token}", expected):
            log.info("dashboard login refused from %s", host)
            return login_page(request, 401, "Wrong token.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie_sessions(request).create(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @router.post("/logout", dependencies=[Depends(check_csrf)])
    def logout(request: Request) -> Response:
        cookie_sessions(request).end(cookie_value(request.headers.get("cookie")))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
