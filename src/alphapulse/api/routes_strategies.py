"""``/strategies``: the registry with parameter schemas, and the persisted on/off switch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path

from alphapulse.api.control import set_enabled, strategy_states
from alphapulse.api.responses import declared
from alphapulse.api.schemas import StrategyInfo, StrategyState
from alphapulse.api.state import get_store
from alphapulse.core.errors import ConfigError
from alphapulse.store import Store
from alphapulse.strategies.registry import available_strategies, strategy_class

StoreDep = Annotated[Store, Depends(get_store)]
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,200}$", description="registry name")]


def _describe(name: str, enabled: bool) -> dict[str, Any]:
    cls = strategy_class(name)
    doc = (cls.__doc__ or "").strip()  # its own docstring, not the base class's
    return {
        "name": name,
        "enabled": enabled,
        "description": doc.splitlines()[0] if doc else None,
        "params": cls.Params.model_json_schema(),
    }


def _known(name: str) -> str:
    if name not in available_strategies():
        raise HTTPException(404, f"unknown strategy {name!r}")
    try:
        strategy_class(name)
    except ConfigError as exc:
        raise HTTPException(404, str(exc)) from None
    return name


def build_router() -> APIRouter:
    """The ``/strategies`` routes."""
    router = APIRouter(prefix="/strategies", tags=["strategies"])
    not_found = declared(404, 422)

    @router.get("", response_model=list[StrategyInfo], summary="Registered strategies")
    def get_strategies(store: StoreDep) -> list[dict[str, Any]]:
        states = strategy_states(store)
        return [_describe(n, states.get(n, True)) for n in available_strategies()]

    @router.post(
        "/{name}/enable", response_model=StrategyState, responses=not_found, summary="Enable"
    )
    def enable(name: Name, store: StoreDep) -> dict[str, Any]:
        set_enabled(store, _known(name), True)
        return {"name": name, "enabled": True}

    @router.post(
        "/{name}/disable", response_model=StrategyState, responses=not_found, summary="Disable"
    )
    def disable(name: Name, store: StoreDep) -> dict[str, Any]:
        set_enabled(store, _known(name), False)
        return {"name": name, "enabled": False}

    return router
