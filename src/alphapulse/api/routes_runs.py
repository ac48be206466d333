"""``/runs``: start backtests, list runs, their status, summary and output tables."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import ValidationError

from alphapulse.api.bodies import StrictJsonRoute
from alphapulse.api.errors import invalid
from alphapulse.api.queries import (
    RUN_TABLE_ROUTES,
    list_runs,
    read_page,
    run_and_cash,
    run_detail,
)
from alphapulse.api.responses import declared
from alphapulse.api.run_request import RunRequest
from alphapulse.api.schemas import (
    RunDetail,
    RunList,
    RunRows,
    RunSummary,
    Submitted,
    SubmittedRun,
)
from alphapulse.api.security import redact
from alphapulse.api.state import api_state, get_store
from alphapulse.store import Store

RunId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", description="run id", examples=["3f2a..."])
]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="rows to skip")]
StoreDep = Annotated[Store, Depends(get_store)]
NOT_FOUND = declared(404, 422)


def _run_or_404(store: Store, run_id: str) -> dict[str, Any]:
    run = store.read_run(run_id)
    if run is None:
        raise HTTPException(404, f"unknown run {run_id!r}")
    return run


def build_router() -> APIRouter:
    """The ``/runs`` routes."""
    router = APIRouter(prefix="/runs", tags=["runs"], route_class=StrictJsonRoute)

    @router.get(
        "", response_model=RunList, responses=declared(422), summary="List runs, newest first"
    )
    def get_runs(
        store: StoreDep,
        status: Literal["running", "finished", "failed", "cancelled"] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        items, total = list_runs(store, status=status, limit=limit, offset=offset)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    @router.post(
        "",
        status_code=202,
        response_model=Submitted,
        responses=declared(400, 422),
        summary="Start a backtest (one run per strategy)",
    )
    def post_run(req: RunRequest, request: Request, response: Response) -> Any:
        try:
            cfg = req.to_config()
        except ValidationError as exc:
            return invalid(exc.errors())
        jobs = api_state(request).jobs
        if jobs is None:
            raise HTTPException(503, "the API is not started")
        ids = jobs.submit(cfg)
        runs = [
            SubmittedRun(id=rid, strategy=label, status="running", url=f"/runs/{rid}")
            for label, rid in ids.items()
        ]
        response.headers["Location"] = runs[0].url
        return Submitted(runs=runs)

    @router.get("/{run_id}", response_model=RunDetail, responses=NOT_FOUND, summary="Run status")
    def get_run(run_id: RunId, store: StoreDep) -> dict[str, Any]:
        return run_detail(_run_or_404(store, run_id))

    @router.get(
        "/{run_id}/summary",
        response_model=RunSummary,
        responses=declared(404, 409, 422),
        summary="Metrics of a finished run",
    )
    def get_summary(run_id: RunId, store: StoreDep) -> dict[str, Any]:
        run, cash = run_and_cash(store, run_id)
        if run is None:
            raise HTTPException(404, f"unknown run {run_id!r}")
        if run["metrics"] is None:
            raise HTTPException(409, f"run {run_id!r} is {run['status']}; no summary yet")
        return {
            "run_id": run_id,
            "name": run["name"],
            "status": run["status"],
            "metrics": redact(run["metrics"]),
            "cash": cash,
        }

    for route, table in RUN_TABLE_ROUTES.items():
        _table_endpoint(router, route, table)
    return router


def _table_endpoint(router: APIRouter, route: str, table: str) -> None:
    def endpoint(run_id: RunId, store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> Any:
        _run_or_404(store, run_id)
        items, total = read_page(store, table, run_id, limit=limit, offset=offset)
        return {"run_id": run_id, "items": items, "total": total, "limit": limit, "offset": offset}

    router.add_api_route(
        f"/{{run_id}}/{route}",
        endpoint,
        methods=["GET"],
        response_model=RunRows,
        responses=NOT_FOUND,
        name=f"run_{table}",
        summary=f"A run's {route.replace('-', ' ')} (paginated)",
    )
