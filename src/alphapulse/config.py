"""Run configuration: YAML validated by pydantic. A wrong key or value is a ConfigError
that names the file and the key path (e.g. ``strategies.0.params.fast``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alphapulse.anomaly.config import AnomalyConfig
from alphapulse.core.errors import ConfigError, validation_text
from alphapulse.core.storable import Storable, unstorable
from alphapulse.core.timezones import time_zone
from alphapulse.core.trust import from_client
from alphapulse.core.yaml_text import load_yaml
from alphapulse.data.raw import utc_timestamp
from alphapulse.execution.algos.config import AlgoConfig
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.executor.config import ExecutorConfig
from alphapulse.portfolio.config import PortfolioConfig
from alphapulse.risk.config import RiskConfig
from alphapulse.strategies.registry import strategy_class


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def listed_once(items: list[str] | None) -> list[str] | None:
    """``items`` as given; a repeated one is a ValueError naming it (never dropped)."""
    seen: set[str] = set()
    for item in items or []:
        if item in seen:
            raise ValueError(f"{item!r} listed twice")
        seen.add(item)
    return items


class DataConfig(_Strict):
    """Where bars come from: a dataset name of the data catalog, a file/folder path, or
    ``store`` (the database; ``symbols`` required, ``timeframe`` picks the bars)."""

    source: str
    timeframe: str = "1d"  # for source: store
    db_url: str | None = None  # for source: store; default $ALPHAPULSE_DB_URL or SQLite
    symbols: list[str] | None = None
    start: str | None = None
    end: str | None = None
    root: str | None = None  # data root; default $ALPHAPULSE_DATA or ../shared/data
    session_tz: str = "UTC"  # local time zone whose dates delimit trading sessions
    # bad rows: None = kept, with one warning naming the first; "reject" = stop on the
    # first (file, line, field, rule); "quarantine" = set them aside
    on_bad: Literal["reject", "quarantine"] | None = None

    @field_validator("start", "end")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            utc_timestamp(v)
        return v

    _tz = field_validator("session_tz")(time_zone)
    _symbols = field_validator("symbols")(listed_once)


#: A strategy label names its output directory under ``--out``: a plain file name.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
#: Cash beyond this loses cents in float64 accounting (a unit in the last place of 1e12
#: is 1.2e-4; of 2**70, 262,144): refused rather than silently rounded.
MAX_INITIAL_CASH = 1e12


def params_errors(exc: ValidationError) -> str:
    """A strategy's ``Params`` errors on one line (``params.fast: ...; params.x: unknown key``)."""
    return validation_text(exc, "params")


class StrategyConfig(_Strict):
    strategy: str  # registry name (e.g. sma_cross) or "package.module:Class"
    name: str | None = None  # label in outputs (a directory name); default: the strategy
    params: dict[str, Any] = Field(default_factory=dict)
    execution: AlgoConfig | None = None  # None: planner orders go to the venue as they are

    @field_validator("name")
    @classmethod
    def _safe_name(cls, name: str | None) -> str | None:
        if name is not None and not SAFE_NAME.match(name):
            raise ValueError(
                "must be a plain file name: 1-64 letters, digits, '_', '.', '-', "
                "starting with a letter or digit"
            )
        return name

    @model_validator(mode="after")
    def _check_params(self, info: ValidationInfo) -> StrategyConfig:
        if ":" in self.strategy and from_client(info):  # (``core/trust.py``)
            raise ValueError(
                f"strategy {self.strategy!r}: a module:Class import path is not accepted"
                " through the API (registered strategies only)"
            )
        try:
            cls = strategy_class(self.strategy)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        try:
            params = cls.Params.model_validate(self.params, context=info.context)
        except ValidationError as exc:
            raise ValueError(params_errors(exc)) from None
        bad = unstorable(params, "params")  # as validated: "1e30" is a whole number there
        if bad:
            raise ValueError(bad)
        algos = getattr(params, "execution_algos", ())
        if algos and self.execution is None:
            raise ValueError(
                f"params choose execution algorithms ({', '.join(algos)}): they need the"
                " strategy's execution: block"
            )
        return self

    @property
    def label(self) -> str:
        return self.name or self.strategy


class PaperConfig(_Strict):
    """Paper trading (``alphapulse paper``): the live feed, the venue and the database
    the session is journaled to (``docs/paper.md``)."""

    feed: Literal["replay", "ccxt", "yfinance", "alpaca"] = "replay"
    speed: float = Field(0.0, ge=0)  # replay: 0 = as fast as possible, 1 = real time, k = k x
    timeframe: Literal["1m", "5m", "15m", "1h", "1d"] = "1m"  # network feeds: bar size
    poll_interval: float = Field(5.0, gt=0)  # seconds between polls (ccxt, yfinance)
    grace: float = Field(2.0, ge=0)  # seconds a cross-section waits for late symbols
    heartbeat: float | None = Field(None, gt=0)  # seconds of silence -> an empty slice
    max_backoff: float = Field(60.0, gt=0)  # reconnect backoff ceiling, seconds
    exchange: str = "binance"  # ccxt exchange id
    feed_url: str | None = None  # network feed origin override (tests, proxies)
    alpaca_data_feed: Literal["iex", "sip"] = "iex"
    venue: Literal["simulated", "alpaca"] = "simulated"
    venue_url: str | None = None  # Alpaca trading API origin override
    persist: bool = True  # journal every step to the database (needed to resume)
    db_url: str | None = None  # default $ALPHAPULSE_DB_URL, else ./alphapulse.sqlite
    session: str | None = None  # run-id prefix; default the config name
    bus: str | None = Field(  # None/"memory": in-process; "redis://host:port/db": Redis Streams
        None, pattern=r"^(memory(://)?|(redis|rediss|unix)://.*)$"
    )
    control_interval: float = Field(1.0, ge=0)  # seconds between reads of the API switches

    @model_validator(mode="after")
    def _alpaca_minutes(self) -> PaperConfig:
        if self.feed == "alpaca" and self.timeframe != "1m":
            raise ValueError("paper.timeframe must be 1m for the alpaca feed (1-minute bars)")
        return self


class BacktestConfig(_Strict, Storable):
    name: str = "backtest"
    data: DataConfig
    initial_cash: float = Field(100_000.0, gt=0, le=MAX_INITIAL_CASH, allow_inf_nan=False)
    fill_at: Literal["next_open", "close"] = "next_open"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    portfolio: PortfolioConfig | None = None  # None: EqualSlot, trade on target changes
    risk: RiskConfig | None = None  # None: pass-through; {} = default limits and guards
    anomalies: AnomalyConfig | None = None  # None: no detectors; {} = defaults
    strategies: list[StrategyConfig] = Field(min_length=1)
    workers: int | None = Field(None, ge=1)
    executor: ExecutorConfig | None = None  # None: local processes (docs/scaling.md)
    # "compiled": strategies with vectorised signals run in the numba kernel (same results)
    engine: Literal["event", "compiled"] = "event"
    paper: PaperConfig | None = None  # settings of ``alphapulse paper`` (default: replay)

    @model_validator(mode="after")
    def _unique_labels(self) -> BacktestConfig:
        labels = [s.label for s in self.strategies]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"strategy names must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _news_lag_under_close_fills(self) -> BacktestConfig:
        """``fill_at: close`` fills at the close a decision is made: a headline dated D
        is known at D's close (it may have been published after it), so news needs a lag
        of a bar there: a sentiment strategy (or expert) ``factor.lag_bars >= 1``, a
        ``sentiment`` feature ``lag_bars >= 1`` (inline feature sets; at any depth)."""
        if self.fill_at != "close":
            return self
        todo: list[tuple[str, Any]] = [
            (f"strategies.{i}", {"strategy": s.strategy, "params": s.params})
            for i, s in enumerate(self.strategies)
        ]
        while todo:
            where, node = todo.pop(0)
            if isinstance(node, dict):
                lag = _news_lag(node)
                if lag == 0:
                    key = "params.factor.lag_bars" if "strategy" in node else "lag_bars"
                    raise ValueError(
                        f"{where}: fill_at: close would fill at the close its headlines "
                        "become known (one dated D counts at D's close, though it may come "
                        f"after it); set {key}: 1"
                    )
                todo += [(f"{where}.{k}", v) for k, v in node.items()]
            elif isinstance(node, list):
                todo += [(f"{where}.{k}", v) for k, v in enumerate(node)]
        return self


def _news_lag(node: dict[str, Any]) -> int | None:
    """The news lag in bars of a sentiment strategy or feature spec (None: neither)."""
    if node.get("strategy") == "sentiment":
        params = node.get("params")
        factor = params.get("factor") if isinstance(params, dict) else None
        lag = factor.get("lag_bars", 0) if isinstance(factor, dict) else 0
    elif node.get("kind") == "sentiment":
        lag = node.get("lag_bars", 0)
    else:
        return None
    return lag if isinstance(lag, int) else None


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "<config>") -> BacktestConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return BacktestConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> BacktestConfig:
    return parse_config(read_yaml(path), str(path))


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML of ``path``; a missing or unreadable file, text that is not UTF-8
    and bad syntax are one ConfigError line naming the file."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config file {p}: a folder, not a file")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        return load_yaml(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        bad = exc.object[exc.start]
        raise ConfigError(f"{p}: line {line}: not UTF-8 text (byte {bad:#04x})") from None
    except yaml.YAMLError as exc:
        raise yaml_error(p, exc) from None


def read_mapping(path: str | Path) -> dict[str, Any]:
    """:func:`read_yaml` of a settings file, whose top level must be a mapping (an empty
    file is not: it is one ConfigError line, never all defaults)."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def yaml_error(path: str | Path, exc: yaml.YAMLError) -> ConfigError:
    """One line naming the file, line and column of a YAML syntax error."""
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
    what = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return ConfigError(f"{path}:{where} not valid YAML: {what}")
