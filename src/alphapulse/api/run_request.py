"""What an API client may choose in ``POST /runs``: a narrower schema than a config file.

A config file is trusted (its author runs it); a request body is not. So a request names
a dataset of the server's catalog (no file paths, no data root), registered strategies
only (entry points: no ``module:Class`` import, nor in a hybrid's experts), models only by
name in the server's own registry (no ``root`` / ``tracking_uri``, no feature-set file),
news only by catalog name (no folder, no cache folder), no database URL and no paper
section; workers, strategies, symbols and every string are bounded. Anything else is a
422 naming the field. The strategies' parameters are validated with the client context
(``core/trust.py``), so these hold at any depth."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from alphapulse.api.run_schema import datasets, enum_of, per_strategy, strategies, time_zones
from alphapulse.api.times import When, clamped
from alphapulse.config import SAFE_NAME, BacktestConfig, params_errors
from alphapulse.core.errors import ConfigError
from alphapulse.core.timezones import time_zone
from alphapulse.core.trust import client_context
from alphapulse.data.raw import time_bounds
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.portfolio.config import PortfolioConfig
from alphapulse.risk.config import RiskConfig

MAX_WORKERS = 8
MAX_STRATEGIES = 16
MAX_SYMBOLS = 1000
#: Keys that point the server at files or services: never from a client (at any depth).
SERVER_ONLY = frozenset({"root", "tracking_uri", "db_url", "path", "uri", "url"})

Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(pattern=SAFE_NAME.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunData(_Strict):
    """Bars from a dataset of the server's catalog (names in ``docs/data.md``); the
    other fields as in a config file's ``data``."""

    source: Short = Field(
        description="dataset name of the server's data catalog",
        json_schema_extra=enum_of(datasets),
    )
    symbols: list[Short] | None = Field(None, max_length=MAX_SYMBOLS)
    start: When = None
    end: When = None
    session_tz: Short = Field(
        "UTC", description="IANA time zone of the sessions", json_schema_extra=enum_of(time_zones)
    )
    on_bad: Literal["reject", "quarantine"] | None = None

    @field_validator("source")
    @classmethod
    def _catalog_name(cls, source: str) -> str:
        if source not in datasets():
            raise ValueError(f"unknown dataset {source!r} (not a name of the server's catalog)")
        return source

    _bounds = field_validator("start", "end")(clamped)
    _tz = field_validator("session_tz")(time_zone)

    @field_validator("end")
    @classmethod
    def _not_before_start(
        cls, end: date | datetime | None, info: ValidationInfo
    ) -> date | datetime | None:
        """``end`` at or after ``start`` as the data layer reads them (a midnight end is
        its whole day): a run with no bars is refused, not started."""
        start = info.data.get("start")
        if start is not None and end is not None:
            lo, hi = time_bounds(start.isoformat(), end.isoformat())
            if lo is not None and hi is not None and hi < lo:
                raise ValueError("before data.start: the run would have no bars")
        return end

    @field_serializer("start", "end")
    def _iso(self, when: date | datetime | None) -> str | None:
        return None if when is None else when.isoformat()


def _server_only(value: Any, path: str) -> str | None:
    """The first ``SERVER_ONLY`` key (dotted) inside ``value``, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in SERVER_ONLY:
                return here
            found = _server_only(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _server_only(item, f"{path}.{i}")
            if found:
                return found
    return None


class RunStrategy(_Strict):
    """A registered strategy (``GET /strategies``) with its parameters."""

    model_config = ConfigDict(json_schema_extra=per_strategy(SERVER_ONLY))

    strategy: Short = Field(
        description="registered strategy name (GET /strategies)",
        json_schema_extra=enum_of(strategies),
    )
    name: Label | None = Field(None, description="label of the run; default the strategy")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in strategies():
            raise ValueError(f"unknown strategy {name!r}; the API runs registered strategies")
        return name

    @field_validator("params")
    @classmethod
    def _no_server_paths(cls, params: dict[str, Any]) -> dict[str, Any]:
        found = _server_only(params, "")
        if found:
            raise ValueError(f"{found}: a server-side location, not accepted through the API")
        return params

    @model_validator(mode="after")
    def _params_as_json(self) -> RunStrategy:
        """``params`` checked as the JSON they came in (strict: no ``false`` for a number,
        no ``"5"`` for an integer), as the schema's per-strategy ``params`` say."""
        from alphapulse.strategies.registry import strategy_class

        try:
            cls = strategy_class(self.strategy)
            cls.Params.model_validate_json(
                json.dumps(self.params), strict=True, context=client_context()
            )
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        except ValidationError as exc:
            raise ValueError(params_errors(exc)) from None
        return self


class RunRequest(_Strict):
    """The body of ``POST /runs`` (see module doc)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] = "backtest"
    data: RunData
    initial_cash: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    fill_at: Literal["next_open", "close"] = "next_open"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    portfolio: PortfolioConfig | None = None
    risk: RiskConfig | None = None
    strategies: list[RunStrategy] = Field(min_length=1, max_length=MAX_STRATEGIES)
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS)

    @field_validator("strategies")
    @classmethod
    def _unique_labels(cls, runs: list[RunStrategy]) -> list[RunStrategy]:
        labels = [r.name or r.strategy for r in runs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique; repeated: {', '.join(dupes)}")
        return runs

    def to_config(self) -> BacktestConfig:
        """The run's configuration (raises ``ValidationError`` like a config file)."""
        raw = self.model_dump(exclude_unset=True)
        return BacktestConfig.model_validate(raw, context=client_context())
