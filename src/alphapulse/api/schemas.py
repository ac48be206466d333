"""Response bodies (they document the API in OpenAPI)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending input, e.g. data.source")
    message: str


class ErrorBody(BaseModel):
    error: str
    fields: list[FieldError] = Field(default_factory=list)


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str = Field(description="ready | not_ready")
    checks: dict[str, str]


class RunInfo(BaseModel):
    id: str
    name: str
    status: str
    code_version: str | None = None
    data_hash: str | None = None
    initial_cash: float | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class RunDetail(RunInfo):
    config: dict[str, Any] | None = None


class RunList(BaseModel):
    items: list[RunInfo]
    total: int
    limit: int
    offset: int


class RunRows(BaseModel):
    run_id: str
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class SubmittedRun(BaseModel):
    id: str
    strategy: str
    status: str
    url: str


class Submitted(BaseModel):
    runs: list[SubmittedRun]


class RunSummary(BaseModel):
    run_id: str
    name: str
    status: str
    metrics: dict[str, Any] | None
    cash: dict[str, Any] | None


class StrategyInfo(BaseModel):
    name: str
    enabled: bool
    description: str | None
    params: dict[str, Any] = Field(description="JSON schema of the strategy's parameters")


class StrategyState(BaseModel):
    name: str
    enabled: bool


class SessionInfo(BaseModel):
    name: str
    status: str = Field(description="running | finished | stopped | failed")
    steps: int = Field(description="bars processed by this server since the start")
    strategies: list[str]
    run_ids: dict[str, str] = Field(description="run id of each strategy")
    error: str | None = None


class MarkedPosition(BaseModel):
    run_id: str
    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float
    fees: float
    price: float | None = Field(description="last close seen by the session")
    market_value: float | None
    unrealized_pnl: float | None = Field(description="(price - avg_price) x quantity")
