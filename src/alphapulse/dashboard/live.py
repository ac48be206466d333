"""Paper sessions in the browser: the start form, the live page, its event stream
(server-sent events: the page's tables re-rendered after every step, at most ten times
a second) and the stop button."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from alphapulse.api.paper import LiveSession, PaperSessions, SessionConflict
from alphapulse.api.routes_sessions import PaperRequest
from alphapulse.core.errors import validation_text
from alphapulse.dashboard import views
from alphapulse.dashboard.pages import not_found
from alphapulse.dashboard.web import TEMPLATES, check_csrf, render, store_of
from alphapulse.store import Store

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
POLL_S = 0.1


def _paper(request: Request) -> PaperSessions:
    paper: PaperSessions | None = getattr(request.app.state, "paper", None)
    if paper is None:
        raise HTTPException(503, "the API is not started")
    return paper


def _session(request: Request, name: str) -> LiveSession:
    sess = _paper(request).get(name)
    if sess is None:
        raise HTTPException(404, f"no paper session {name!r} on this server")
    return sess


def _fragments(store: Store, sess: LiveSession) -> dict[str, Any]:
    """The live page's sections as HTML, by element id, plus the session's status."""
    data = views.live_tables(store, sess)
    template = TEMPLATES.env.get_template("live_tables.html")
    html = template.render(sess=sess, **data)
    return {"status": sess.status, "steps": sess.steps, "html": html}


def _json_field(form: dict[str, str], key: str) -> Any:
    """The JSON of form field ``key`` (None when empty); a ValueError naming it when it is
    not JSON or nests too deep to read."""
    text = form.get(key)
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ValueError(f"{key}: not valid JSON (or nested too deep)") from None


def _form_request(form: dict[str, str]) -> PaperRequest:
    symbols = [s.strip() for s in form.get("symbols", "").split(",") if s.strip()]
    params = _json_field(form, "params") or {}
    data: dict[str, Any] = {"source": form.get("source", "")}
    for key in ("start", "end"):
        if form.get(key):
            data[key] = form[key]
    if symbols:
        data["symbols"] = symbols
    return PaperRequest.model_validate(
        {
            "name": form.get("name") or "paper",
            "session": form.get("name") or None,
            "data": data,
            "strategies": [{"strategy": form.get("strategy", ""), "params": params}],
            "speed": float(form.get("speed") or 0),
            "anomalies": _json_field(form, "anomalies"),
        }
    )


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.post("/ui/sessions", dependencies=[Depends(check_csrf)])
    async def start(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            cfg = _form_request(form).to_paper_config()
            sess = await run_in_threadpool(_paper(request).start, cfg)
        except (ValidationError, ValueError, SessionConflict) as exc:
            msg = (
                str(exc).splitlines()[0]
                if not isinstance(exc, ValidationError)
                else validation_text(exc)
            )
            return render(request, "error.html", status_code=422, message=msg)
        return RedirectResponse(f"/ui/sessions/{sess.name}", status_code=303)

    @router.post("/ui/sessions/{name}/stop", dependencies=[Depends(check_csrf)])
    async def stop(request: Request, name: Name) -> Response:
        _session(request, name)
        await run_in_threadpool(_paper(request).stop, name)
        return RedirectResponse(f"/ui/sessions/{name}", status_code=303)

    @router.get("/ui/sessions/{name}", response_class=HTMLResponse)
    async def live_page(request: Request, name: Name) -> Response:
        sess = _paper(request).get(name)
        if sess is None:
            return not_found(request, f"no paper session {name!r} on this server")
        frag = await run_in_threadpool(_fragments, store_of(request), sess)
        return render(request, "live.html", sess=sess, fragment=frag["html"])

    @router.get("/ui/sessions/{name}/events")
    async def events(request: Request, name: Name) -> StreamingResponse:
        sess = _session(request, name)
        store = store_of(request)

        async def stream() -> AsyncIterator[str]:
            seen: tuple[int, str] | None = None
            while not await request.is_disconnected():
                now = (sess.steps, sess.status)
                if now != seen:
                    seen = now
                    frag = await run_in_threadpool(_fragments, store, sess)
                    yield f"data: {json.dumps(frag)}\n\n"
                elif sess.status != "running":
                    return
                await asyncio.sleep(POLL_S)

        headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    return router
