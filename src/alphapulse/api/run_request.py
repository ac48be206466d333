"""What an API client may choose in ``POST /runs``: a narrower schema than a config file.

A config file is trusted (its author runs it); a request body is not. So a request names
a dataset of the server's catalog (no file paths, no data root), registered strategies
only (entry points: no ``module:Class`` import), models only by name in the server's own
registry (no ``root`` / ``tracking_uri``, no feature-set file), no database URL and no
paper section; workers, strategies, symbols and every string are bounded. Anything else
is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

from alphapulse.config import SAFE_NAME, BacktestConfig
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


def _datasets() -> list[str]:
    from alphapulse.data.catalog import list_datasets

    return list_datasets()


def _strategies() -> list[str]:
    from alphapulse.strategies.registry import available_strategies

    return available_strategies()


def _enum(values: Callable[[], list[str]]) -> Callable[[dict[str, JsonValue]], None]:
    """A JSON-schema hook listing the server's ``values`` (read when the schema is built)."""

    def extra(schema: dict[str, JsonValue]) -> None:
        schema["enum"] = list[JsonValue](values())

    return extra


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunData(_Strict):
    """Bars from a dataset of the server's catalog (names in ``docs/data.md``); the
    other fields as in a config file's ``data``."""

    source: Short = Field(
        description="dataset name of the server's data catalog",
        json_schema_extra=_enum(_datasets),
    )
    symbols: list[Short] | None = Field(None, max_length=MAX_SYMBOLS)
    start: Short | None = None
    end: Short | None = None
    session_tz: Short = "UTC"
    on_bad: Literal["reject", "quarantine"] | None = None

    @field_validator("source")
    @classmethod
    def _catalog_name(cls, source: str) -> str:
        if source not in _datasets():
            raise ValueError(f"unknown dataset {source!r} (not a name of the server's catalog)")
        return source


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

    strategy: Short = Field(
        description="registered strategy name (GET /strategies)",
        json_schema_extra=_enum(_strategies),
    )
    name: Label | None = Field(None, description="label of the run; default the strategy")
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in _strategies():
            raise ValueError(f"unknown strategy {name!r}; the API runs registered strategies")
        return name

    @field_validator("params")
    @classmethod
    def _no_server_paths(cls, params: dict[str, Any]) -> dict[str, Any]:
        found = _server_only(params, "")
        if found:
            raise ValueError(f"{found}: a server-side location, not accepted through the API")
        features = params.get("features")
        if isinstance(features, str) and features != "default":
            raise ValueError("features: a file path is not accepted through the API")
        return params


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

    def to_config(self) -> BacktestConfig:
        """The run's configuration (raises ``ValidationError`` like a config file)."""
        return BacktestConfig.model_validate(self.model_dump(exclude_unset=True))
