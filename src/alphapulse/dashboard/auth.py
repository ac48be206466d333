"""``/login`` (a form that takes the API token and sets the session cookie) and
``/logout``."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alphapulse.api.cookies import COOKIE, cookie_value
from alphapulse.api.security import token_matches
from alphapulse.dashboard.web import check_csrf, cookie_sessions, render

log = logging.getLogger(__name__)


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return render(request, "login.html", error=None)

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: Annotated[str, Form(max_length=4096)] = "") -> Response:
        expected = request.app.state.api.settings.token.get_secret_value()
        if not token_matches(f"Bearer {token}", expected):
            host = request.client.host if request.client else "?"
            log.info("dashboard login refused from %s", host)
            return render(request, "login.html", status_code=401, error="Wrong token.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie_sessions(request).create(),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout", dependencies=[Depends(check_csrf)])
    def logout(request: Request) -> Response:
        cookie_sessions(request).end(cookie_value(request.headers.get("cookie")))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
