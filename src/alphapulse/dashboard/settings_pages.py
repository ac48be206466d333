"""Strategies (switch on/off, parameters, performance), models (registry versions and
drift) and data (datasets, stored symbols, imports, quarantined rows)."""

from __future__ import annotations

import functools
import logging
import statistics
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from sqlalchemy import select
from starlette.responses import HTMLResponse, RedirectResponse, Response

from alphapulse.api.control import set_enabled, strategy_states
from alphapulse.api.live_queries import read_rows
from alphapulse.dashboard.web import check_csrf, render, store_of
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

log = logging.getLogger(__name__)
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,200}$")]


def performance(store: Store) -> dict[str, dict[str, Any]]:
    """Per registered strategy: finished runs, mean total return and mean Sharpe."""
    runs = TABLES["runs"]
    query = select(runs.c.config, runs.c.metrics).where(runs.c.status == "finished")
    rows = run_tx(store.engine, lambda conn: conn.execute(query).all(), write=False)
    by: dict[str, list[dict[str, Any]]] = {}
    for config, metrics in rows:
        strategies = (config or {}).get("strategies") or []
        if len(strategies) == 1 and isinstance(metrics, dict):
            by.setdefault(str(strategies[0].get("strategy")), []).append(metrics)

    def mean(ms: list[dict[str, Any]], key: str) -> float | None:
        vals = [float(m[key]) for m in ms if isinstance(m.get(key), int | float)]
        return statistics.fmean(vals) if vals else None

    return {
        k: {"runs": len(v), "total_return": mean(v, "total_return"), "sharpe": mean(v, "sharpe")}
        for k, v in by.items()
    }


def models() -> list[dict[str, Any]]:
    """Registered model versions with their drift metadata (empty: no registry here)."""
    import os
    from pathlib import Path as FsPath

    root = FsPath(os.environ.get("ALPHAPULSE_MLRUNS", "mlruns"))
    if not (root / "mlruns.db").exists():
        return []
    from alphapulse.ml.registry import ModelRegistry

    reg = ModelRegistry(root=root)
    out = []
    try:
        for model in reg.client.search_registered_models():
            for entry in reg.list(model.name):
                out.append({"name": model.name, **vars(entry)})
    except Exception as exc:  # an unreadable registry must not break the page
        log.warning("model registry unreadable: %s", exc)
    return out


@functools.cache
def describe_all() -> tuple[dict[str, Any], ...]:
    """Every registered strategy's description and parameter schema (read once: the
    registry does not change while the server runs; a broken plugin is listed)."""
    from alphapulse.api.routes_strategies import _describe
    from alphapulse.strategies.registry import available_strategies

    out = []
    for name in available_strategies():
        try:
            out.append(_describe(name, True))
        except Exception as exc:
            out.append({"name": name, "error": str(exc)})
    return tuple(out)


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/ui/strategies", response_class=HTMLResponse)
    def strategies(request: Request) -> Response:
        store = store_of(request)
        states = strategy_states(store)
        rows = [{**d, "enabled": states.get(d["name"], True)} for d in describe_all()]
        return render(request, "strategies.html", rows=rows, perf=performance(store))

    @router.post("/ui/strategies/{name}/{action}", dependencies=[Depends(check_csrf)])
    def switch(request: Request, name: Name, action: str) -> Response:
        from alphapulse.api.routes_strategies import _known

        if action not in ("enable", "disable"):
            raise HTTPException(404, "unknown action")
        set_enabled(store_of(request), _known(name), action == "enable")
        return RedirectResponse("/ui/strategies", status_code=303)

    @router.get("/ui/models", response_class=HTMLResponse)
    def models_page(request: Request) -> Response:
        return render(request, "models.html", rows=models())

    @router.get("/ui/data", response_class=HTMLResponse)
    def data_page(request: Request) -> Response:
        from alphapulse.data.catalog import list_datasets

        store = store_of(request)
        imports = store.read_imports()
        quarantined = read_rows(store, select(TABLES["quarantine"]).limit(100))
        return render(
            request, "data.html", datasets=list_datasets(), symbols=store.list_symbols(),
            imports=imports.head(100).to_dict("records"), quarantined=quarantined,
        )  # fmt: skip

    return router
