"""What an API client may choose in ``POST /runs``: a narrower schema than a config file.

A config file is trusted (its author runs it); a request body is not. So a request names
a dataset of the server's catalog (no file paths, no data root), registered strategies
only (entry points: no ``module:Class`` import, nor in a hybrid's experts), models only by
name in the server's own registry (no ``root`` / ``tracking_uri``, no feature-set file)
and no model parameter naming a file, a network peer or threads (``MODEL_SERVER_ONLY``),
news only by catalog name (no folder, no cache folder), no database URL and no paper
section; workers, strategies, symbols and every string are bounded, and no field holds a
NUL or a whole number beyond 64 bits (``config.unstorable``). Anything else is a 422
naming the field. The strategies' parameters are validated with the client context
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
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from alphapulse.api.run_schema import datasets, enum_of, per_strategy, strategies, time_zones
from alphapulse.api.times import When, clamped
from alphapulse.config import MAX_INITIAL_CASH, SAFE_NAME, BacktestConfig, params_errors
from alphapulse.core.errors import ConfigError
from alphapulse.core.storable import unstorable
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
#: LightGBM parameters, with every alias, that name files to read or write, open network
#: ports and connections, or pick threads and devices (``num_threads`` is the sequence
#: models' too): never from a client in a model spec's ``params`` (at any depth).
MODEL_SERVER_ONLY = frozenset(
    {
        # files
        "data", "data_filename", "train", "train_data", "train_data_file",
        "valid", "valid_data", "valid_data_file", "valid_filenames",
        "test", "test_data", "test_data_file",
        "input_model", "model_in", "model_input",
        "output_model", "model_out", "model_output",
        "output_result", "predict_result", "prediction_result",
        "predict_name", "prediction_name", "pred_name", "name_pred",
        "initscore_filename", "valid_data_initscores",
        "forcedsplits_filename", "forced_splits_filename", "forced_splits_file",
        "forced_splits", "fs",
        "forcedbins_filename", "parser_config_file", "convert_model", "convert_model_file",
        "config", "config_file", "save_binary", "is_save_binary", "is_save_binary_file",
        "snapshot_freq", "save_period",
        # network
        "machines", "workers", "nodes",
        "machine_list_filename", "machine_list_file", "machine_list", "mlist",
        "num_machines", "num_machine", "local_listen_port", "local_port", "port", "time_out",
        # threads and devices
        "num_threads", "num_thread", "nthread", "nthreads", "n_jobs",
        "device_type", "device", "gpu_platform_id", "gpu_device_id", "gpu_use_dp", "num_gpu",
    }
)  # fmt: skip

Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(pattern=SAFE_NAME.pattern)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Every field within what a run holds (``config.unstorable``: no NUL, no whole
        number beyond 64 bits), refused under its own name."""
        bad = unstorable(value)
        if bad:
            raise ValueError(bad)
        return value


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


def _server_only(
    value: Any, path: str, model_kinds: frozenset[str], keys: frozenset[str] = SERVER_ONLY
) -> str | None:
    """The first server-side key (dotted) inside ``value``: a ``SERVER_ONLY`` key anywhere,
    a ``MODEL_SERVER_ONLY`` one in the ``params`` of a model spec (a mapping whose ``kind``
    is one of ``model_kinds``); None if none."""
    if isinstance(value, dict):
        kind = value.get("kind")
        spec = isinstance(kind, str) and kind in model_kinds
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in keys:
                return here
            inner = SERVER_ONLY | MODEL_SERVER_ONLY if spec and key == "params" else SERVER_ONLY
            found = _server_only(item, here, model_kinds, inner)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _server_only(item, f"{path}.{i}", model_kinds)
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
        from alphapulse.ml.models.spec import CLASS_OF

        found = _server_only(params, "", frozenset(CLASS_OF))
        if found:
            raise ValueError(f"{found}: a server-side setting, not accepted through the API")
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
    initial_cash: float = Field(
        100_000.0, gt=0, le=MAX_INITIAL_CASH, allow_inf_nan=False, strict=True
    )
    fill_at: Literal["next_open", "close"] = "next_open"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    portfolio: PortfolioConfig | None = None
    risk: RiskConfig | None = None
    strategies: list[RunStrategy] = Field(min_length=1, max_length=MAX_STRATEGIES)
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS, strict=True)

    @field_validator("execution", "portfolio", "risk", mode="before")
    @classmethod
    def _sections_as_json(cls, value: Any, info: ValidationInfo) -> Any:
        """A section checked as the JSON it came in (strict, as ``params``: no ``"2"``
        or ``true`` for a number; ``2.0`` is a JSON-schema integer); its errors keep
        their paths under the section."""
        if not isinstance(value, dict):
            return value  # None, or the usual type error
        section = _SECTIONS[str(info.field_name)]
        text = json.dumps(_integral(value))  # NaN, Infinity: refused by their fields
        return section.validate_json(text, strict=True, context=client_context())

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


def _integral(value: Any) -> Any:
    """``value`` with every whole-valued float within 2**53 as an int (JSON schema's
    ``integer`` takes ``2.0``; strict pydantic would not)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "execution": TypeAdapter(ExecutionConfig),
    "portfolio": TypeAdapter(PortfolioConfig),
    "risk": TypeAdapter(RiskConfig),
}
