"""What every page handler shares: the templates, the store, the CSRF check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from alphapulse.analytics.report.fmt import show
from alphapulse.api.cookies import CookieSessions
from alphapulse.api.guard import SESSION_SCOPE_KEY
from alphapulse.api.state import get_store
from alphapulse.store import Store
from alphapulse.store.frames import json_safe

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def num(value: Any) -> str:
    """A cell: floats with thousands separators (4 decimals under 10); a missing (None,
    NaN) or infinite number is an en dash, as in the reports (``fmt.show``)."""
    return show(value, _cell)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


TEMPLATES.env.filters["num"] = num
TEMPLATES.env.policies["json.dumps_function"] = (  # `tojson`: NaN/inf as null, valid JSON
    lambda obj, **kwargs: json.dumps(json_safe(obj), **kwargs)
)
NO_CACHE = {"cache-control": "no-store"}


def cookie_sessions(request: Request) -> CookieSessions:
    sessions: CookieSessions = request.app.state.cookie_sessions
    return sessions


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's browser session ('' under a bearer token)."""
    sid = request.scope.get(SESSION_SCOPE_KEY)
    return cookie_sessions(request).csrf(sid) if sid else ""


async def check_csrf(request: Request) -> None:
    """A dependency of every state-changing form: 403 unless the form's ``csrf`` field
    matches the session (a bearer-token client cannot be forged cross-site)."""
    sid = request.scope.get(SESSION_SCOPE_KEY)
    if sid is None:
        return
    form = await request.form()
    given = form.get("csrf")
    if not cookie_sessions(request).csrf_ok(sid, given if isinstance(given, str) else None):
        raise HTTPException(403, "missing or invalid CSRF token; reload the page")


def store_of(request: Request) -> Store:
    return get_store(request)


def render(request: Request, template: str, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """Template ``template`` with the page context (CSRF token, current path)."""
    ctx.setdefault("csrf", csrf_token(request))
    ctx.setdefault("path", request.url.path)
    return TEMPLATES.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=NO_CACHE
    )
