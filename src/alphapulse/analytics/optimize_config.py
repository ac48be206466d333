"""The ``alphapulse optimize`` configuration (YAML), validated with pydantic."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alphapulse.config import (
    BacktestConfig,
    StrategyConfig,
    format_validation_error,
    parse_config,
    read_yaml,
)
from alphapulse.core.bounds import Bars
from alphapulse.core.errors import ConfigError
from alphapulse.strategies.registry import strategy_class

Scalar = int | float | str | bool
MAX_SETS = 10_000  # parameter sets of a grid; each is a strategy of every window's backtest
MAX_COMBINATIONS = 1_000_000  # combinations (valid or not) a grid may build and check


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Range(_Strict):
    """``low`` to ``high`` inclusive in steps of ``step`` (ints stay ints)."""

    model_config = ConfigDict(allow_inf_nan=False)

    low: float
    high: float
    step: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        if not math.isfinite((self.high - self.low) / self.step):
            raise ValueError(
                f"step {self.step} is too small for low {self.low} to high {self.high}"
            )
        return self

    @property
    def ints(self) -> bool:
        """Whether the values are whole numbers (``low`` and ``step`` are)."""
        return float(self.low).is_integer() and float(self.step).is_integer()

    def __len__(self) -> int:
        """How many values there are, without building them."""
        return int((self.high - self.low) / self.step + 1e-9) + 1

    def values(self) -> list[Scalar]:
        vals = [self.low + i * self.step for i in range(len(self))]
        out: list[Scalar] = [round(v) for v in vals] if self.ints else list(vals)
        return out


class WalkForward(_Strict):
    train_bars: Bars = Field(252, ge=20)
    test_bars: Bars = Field(63, ge=5)


class OptimizeConfig(_Strict):
    """A backtest (without strategies), one strategy and the space of its parameters."""

    backtest: dict[str, Any]
    strategy: str
    fixed: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, list[Scalar] | Range] = Field(min_length=1)
    method: Literal["grid", "optuna"] = "grid"
    engine: Literal["auto", "event", "compiled"] = "auto"
    n_trials: int = Field(30, ge=2, le=10_000)
    objective: Literal["sharpe", "total_return", "calmar"] = "sharpe"
    walk_forward: WalkForward = Field(default_factory=WalkForward)
    max_sets: int = Field(500, ge=2, le=MAX_SETS)
    seed: int = 0

    def backtest_config(self, sets: list[dict[str, Any]]) -> BacktestConfig:
        strategies = [
            {"strategy": self.strategy, "name": f"set{i}", "params": {**self.fixed, **p}}
            for i, p in enumerate(sets)
        ]
        return parse_config({**self.backtest, "strategies": strategies}, "backtest")

    def baseline_config(self) -> BacktestConfig:
        """The backtest with the ``buy_and_hold`` strategy only (the optimisation's
        baseline; its settings hold for every set: execution, initial cash)."""
        return parse_config(
            {**self.backtest, "strategies": [{"strategy": "buy_and_hold"}]}, "backtest"
        )

    def valid(self, params: dict[str, Any]) -> bool:
        """Whether the strategy accepts ``params`` (e.g. fast < slow)."""
        try:
            StrategyConfig(strategy=self.strategy, params={**self.fixed, **params})
        except ValidationError:
            return False
        return True

    def grid(self) -> list[dict[str, Any]]:
        """Every valid combination of the parameter values, in order (at most
        ``max_sets``); a grid of more than ``MAX_COMBINATIONS`` combinations, valid or not,
        is refused before it is built."""
        sizes = {name: len(v) for name, v in self.params.items()}
        combinations = math.prod(sizes.values())  # counted first: nothing is built beyond it
        if combinations > MAX_COMBINATIONS:
            axes = " x ".join(f"{name} {n:,}" for name, n in sizes.items())
            raise ConfigError(
                f"optimize: params: {combinations:,} combinations ({axes}), more than the"
                f" {MAX_COMBINATIONS:,} a grid may span"
            )
        names = list(self.params)
        values = [v.values() if isinstance(v, Range) else v for v in self.params.values()]
        sets = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
        sets = [p for p in sets if self.valid(p)]
        if len(sets) < 2:
            raise ConfigError("optimize: fewer than two valid parameter sets in the grid")
        if len(sets) > self.max_sets:
            raise ConfigError(f"optimize: {len(sets)} parameter sets > max_sets {self.max_sets}")
        return sets


def load_optimize_config(path: Path) -> OptimizeConfig:
    """Read and validate; errors are one line naming the file and key."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    try:
        cfg = OptimizeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    try:
        strategy_class(cfg.strategy)
        cfg.baseline_config()
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    unknown = set(cfg.params) - set(strategy_class(cfg.strategy).Params.model_fields)
    if unknown:
        raise ConfigError(f"{path}: params: unknown parameter(s) {sorted(unknown)}")
    return cfg
