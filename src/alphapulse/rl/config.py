"""Configuration of ``alphapulse rl train|evaluate``: the backtest settings the
environment runs on (data, costs, risk: the same blocks as a backtest config), the
environment, the learner and the walk-forward evaluation. A wrong key or value is one
ConfigError line naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alphapulse.config import (
    BacktestConfig,
    DataConfig,
    Storable,
    StrategyConfig,
    format_validation_error,
    read_yaml,
)
from alphapulse.core.errors import ConfigError
from alphapulse.data.raw import utc_timestamp
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.executor import ExecutorConfig
from alphapulse.features import FeatureSetConfig, load_feature_set
from alphapulse.features.config import ReturnsSpec, RsiSpec
from alphapulse.ml.registry import MODEL_NAME_PATTERN
from alphapulse.ml.training import RegistryConfig
from alphapulse.risk.config import RiskConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def rl_feature_set() -> FeatureSetConfig:
    """The default observation features: log returns over 1, 5, 21 bars and RSI 14,
    z-scored per symbol over its trailing 252 bars."""
    return FeatureSetConfig(
        name="rl_small",
        version=1,
        features=[ReturnsSpec(horizons=[1, 5, 21]), RsiSpec()],
    )


class EnvConfig(_Strict):
    """The Gymnasium environment (``rl.env``)."""

    features: FeatureSetConfig | str = "rl_small"  # inline, a YAML path, or "rl_small"
    action: Literal["discrete", "continuous"] = "discrete"  # {short, flat, long} or weights
    allow_short: bool = True  # False maps "short" to flat; RLConfig: execution.allow_short
    weight_step: float = Field(0.1, gt=0, le=1)  # continuous weights are rounded to it
    reward: Literal["pnl", "drawdown", "dsr"] = "pnl"
    drawdown_penalty: float = Field(0.0, ge=0)  # reward "drawdown": x drawdown per step
    dsr_eta: float = Field(0.01, gt=0, lt=1)  # reward "dsr": EMA rate of the moments
    reward_scale: float = Field(100.0, gt=0)  # reward = scale x (equity change / cash0 - pen.)
    episode_bars: int = Field(252, ge=2)
    warmup_bars: int = Field(63, ge=0)  # features settle: episodes start this far in
    clip: float = Field(5.0, gt=0)  # observations are clipped to [-clip, clip]

    def feature_set(self) -> FeatureSetConfig:
        f = self.features
        if isinstance(f, FeatureSetConfig):
            return f
        return rl_feature_set() if f == "rl_small" else load_feature_set(Path(f))


class LearnConfig(_Strict):
    """The Stable-Baselines3 learner and its training loop."""

    algo: Literal["ppo", "a2c", "sac"] = "ppo"
    total_timesteps: int = Field(100_000, ge=1)
    n_envs: int = Field(1, ge=1)
    vec_env: Literal["dummy", "subproc"] = "dummy"
    seed: int = 0
    learning_rate: float = Field(3e-4, gt=0)
    gamma: float = Field(0.99, gt=0, le=1)
    n_steps: int = Field(512, ge=2)  # PPO / A2C rollout length per environment
    batch_size: int = Field(64, ge=2)
    n_epochs: int = Field(10, ge=1)  # PPO passes over each rollout
    ent_coef: float = Field(0.0, ge=0)
    net_arch: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [64, 64])
    eval_every: int = Field(10_000, ge=1)  # timesteps between validation runs
    patience: int | None = Field(5, ge=1)  # evaluations without improvement -> stop
    progress: bool = True


class PolicyRef(RegistryConfig):
    """Where ``rl train`` registers the policy (``ml.registry``)."""

    name: str = Field("rl-policy", pattern=MODEL_NAME_PATTERN)


class EvaluateConfig(_Strict):
    """Walk-forward: fold k trains on the ``train_bars`` + ``valid_bars`` before its test
    window of ``test_bars``; baselines run on the same test window through the engine."""

    folds: int = Field(3, ge=1)
    train_bars: int = Field(504, ge=10)
    valid_bars: int = Field(126, ge=2)
    test_bars: int = Field(126, ge=2)
    baselines: list[StrategyConfig] = Field(
        default_factory=lambda: [
            StrategyConfig(strategy="buy_and_hold"),
            StrategyConfig(strategy="sma_cross", params={"fast": 20, "slow": 100}),
        ]
    )
    bootstrap: int = Field(1000, ge=0)  # stationary-bootstrap resamples of each Sharpe
    configurations_tried: int = Field(1, ge=1)  # reported beside the results

    @model_validator(mode="after")
    def _unique(self) -> EvaluateConfig:
        """One table row per baseline, keyed by its label; ``ml`` is added by evaluate."""
        labels = [b.label for b in self.baselines]
        taken = sorted({x for x in labels if labels.count(x) > 1 or x == "ml"})
        if taken:
            raise ValueError(
                "baselines: each needs its own name (ml is the added LightGBM baseline); "
                f"repeated: {', '.join(taken)}"
            )
        return self


class RLConfig(_Strict, Storable):
    name: str = "rl"
    data: DataConfig
    initial_cash: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    fill_at: Literal["next_open", "close"] = "next_open"
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    risk: RiskConfig | None = None
    train_end: str  # last bar of the training window (UTC date or time)
    valid_end: str | None = None  # last bar of the validation window (None: no validation)
    env: EnvConfig = Field(default_factory=EnvConfig)
    learn: LearnConfig = Field(default_factory=LearnConfig)
    policy: PolicyRef = Field(default_factory=PolicyRef)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    executor: ExecutorConfig | None = None  # where evaluate's folds train (None: here)

    @field_validator("train_end", "valid_end")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            utc_timestamp(v)
        return v

    @model_validator(mode="before")
    @classmethod
    def _shorts_as_the_venue(cls, data: Any) -> Any:
        """``env.allow_short`` unset: what the venue allows (``execution.allow_short``)."""
        if isinstance(data, dict):
            env, ex = data.get("env") or {}, data.get("execution") or {}
            if isinstance(env, dict) and isinstance(ex, dict) and "allow_short" not in env:
                return {**data, "env": {**env, "allow_short": ex.get("allow_short", False)}}
        return data

    @model_validator(mode="after")
    def _check(self) -> RLConfig:
        if self.env.allow_short and not self.execution.allow_short:
            raise ValueError(
                "env.allow_short: the venue refuses shorts (execution.allow_short: false), "
                "so the short action would only ever go flat"
            )
        if self.learn.algo == "sac" and self.env.action != "continuous":
            raise ValueError(
                "learn.algo: sac needs continuous actions (env.action: continuous), "
                f"got env.action: {self.env.action}"
            )
        return self

    def backtest(self, strategies: list[StrategyConfig] | None = None) -> BacktestConfig:
        """The backtest configuration the environment and the evaluation run on."""
        return BacktestConfig(
            name=self.name,
            data=self.data,
            initial_cash=self.initial_cash,
            fill_at=self.fill_at,
            execution=self.execution,
            risk=self.risk,
            strategies=strategies or [StrategyConfig(strategy="buy_and_hold")],
            workers=1,
        )


def parse_rl_config(data: Any, source: str = "<config>") -> RLConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return RLConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def load_rl_config(path: str | Path) -> RLConfig:
    return parse_rl_config(read_yaml(path), str(path))
