"""Read-only pages: the overview, the run list, the comparison and a run's detail with
its tearsheet (``analytics.report``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from alphapulse.analytics.report.compare import numbered
from alphapulse.api.queries import run_summary
from alphapulse.core.storable import StorableText
from alphapulse.dashboard import views
from alphapulse.dashboard.web import NO_CACHE, render, store_of

RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-~]{1,64}$")]
RUN_TABLES = ("trades", "orders", "fills", "risk_events")


def live_sessions(request: Request) -> list[Any]:
    paper = getattr(request.app.state, "paper", None)
    return [] if paper is None else paper.all()


def not_found(request: Request, message: str) -> Response:
    """The dashboard's error page with status 404 (not the API's JSON body)."""
    return render(request, "error.html", 404, heading="Not found", message=message)


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> Response:
        store = store_of(request)
        sessions = live_sessions(request)
        return render(
            request,
            "overview.html",
            sessions=sessions,
            cards=views.session_cards(store, sessions),
            events=views.recent_events(store),
        )

    @router.get("/ui/runs", response_class=HTMLResponse)
    def runs(
        request: Request,
        status: Literal["", "running", "finished", "failed", "cancelled"] = "",
        name: Annotated[str, Query(max_length=200), StorableText] = "",
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    ) -> Response:
        rows, total = views.run_list(
            store_of(request), status=status or None, name=name or None, offset=offset
        )
        return render(
            request, "runs.html", rows=rows, total=total, status=status, name=name,
            offset=offset, page=views.PAGE, metrics=views.KEY_METRICS,
        )  # fmt: skip

    @router.get("/ui/compare", response_class=HTMLResponse)
    def compare(
        request: Request,
        ids: Annotated[list[str], Query(max_length=12), StorableText] = [],  # noqa: B006
    ) -> Response:
        store = store_of(request)
        found = [(rid, store.read_run(rid)) for rid in ids]
        runs = [{"id": rid, **views.metric_view(r["metrics"]), "name": r["name"]}
                for rid, r in found if r is not None]  # fmt: skip
        labels = numbered([r["name"] for r in runs])  # one curve per run, even same-named
        curves = {n: views.equity_curve(store, r["id"]) for n, r in zip(labels, runs, strict=True)}
        bare = [n for n, c in curves.items() if not c["x"]]  # no equity recorded
        return render(
            request, "compare.html", runs=runs, curves=curves, bare=bare,
            metrics=views.KEY_METRICS,
        )  # fmt: skip

    @router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
    def run_detail(request: Request, run_id: RunId) -> Response:
        store = store_of(request)
        run = store.read_run(run_id)
        if run is None:
            return not_found(request, f"unknown run {run_id!r}")
        tables = {t: views.run_rows(store, t, run_id) for t in RUN_TABLES}
        return render(
            request, "run.html", run=run, metrics=views.metric_view(run["metrics"]),
            curve=views.equity_curve(store, run_id), tables=tables,
            error=run_summary(run).get("error"),
        )  # fmt: skip

    @router.get("/ui/runs/{run_id}/tearsheet", response_class=HTMLResponse)
    async def tearsheet(request: Request, run_id: RunId) -> Response:
        from alphapulse.analytics.report.stored import load_stored_run
        from alphapulse.analytics.report.tearsheet import build_report
        from alphapulse.core.errors import DataError

        store = store_of(request)
        try:
            run = await run_in_threadpool(load_stored_run, store, run_id)
        except DataError as exc:
            return not_found(request, str(exc))
        html = await run_in_threadpool(build_report, run)
        return HTMLResponse(html, headers=NO_CACHE)

    return router
