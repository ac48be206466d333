"""The ``portfolio:`` section of a run config: how signals become target weights.

One model per ``method`` (a discriminated union, so a key of another method is an
error), plus the keys every method shares and the rebalancing rules::

    portfolio:
      method: vol_target        # see METHODS below
      target_vol: 0.10          # annualised
      lookback: 60              # bars of trailing history
      max_weight: 0.10          # per-name cap on |weight|
      max_gross: 1.0            # cap on sum |weight|
      rebalance: {every: 5, drift_threshold: 0.02, min_trade_value: 1000}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # finite


class RebalanceConfig(_Strict):
    """When and how much to trade towards the targets (see ``portfolio/rebalance.py``)."""

    every: int = Field(1, ge=1)  # rebalance every N bars ...
    calendar: Literal["D", "W", "M", "Q", "Y"] | None = None  # ... or at each new period
    drift_threshold: float = Field(0.0, ge=0)  # |w - target| to trade
    min_trade_value: float = Field(0.0, ge=0)  # smallest order, cash

    @model_validator(mode="after")
    def _one_schedule(self) -> RebalanceConfig:
        if self.calendar is not None and self.every != 1:
            raise ValueError("rebalance: every or calendar, not both (calendar decides alone)")
        return self


class _Base(_Strict):
    gross: float = Field(1.0, gt=0)  # budget: sum |w| of the book
    rebalance: RebalanceConfig | None = None  # None: trade whenever a target changes


class WeightingConfig(_Base):
    """The settings of every method but ``equal_slot``: caps and the estimators."""

    max_weight: float | None = Field(None, gt=0)  # per-name |w| cap
    max_gross: float | None = Field(None, gt=0)  # default: gross
    lookback: int = Field(60, ge=5)  # bars of trailing returns for the estimators
    min_history: int | None = Field(None, ge=2)  # returns needed; default lookback // 2
    periods_per_year: float | None = Field(None, gt=0)  # None: inferred from timestamps
    shrinkage: Literal["constant_correlation", "identity", "none"] = "constant_correlation"

    @model_validator(mode="after")
    def _history_fits(self) -> WeightingConfig:
        if self.min_history is not None and self.min_history > self.lookback:
            raise ValueError(
                f"min_history {self.min_history} > lookback {self.lookback}: a window holds"
                " at most lookback returns, so no target would ever be set"
            )
        return self

    @property
    def gross_cap(self) -> float:
        return self.max_gross if self.max_gross is not None else self.gross

    @property
    def min_obs(self) -> int:
        return self.min_history if self.min_history is not None else max(self.lookback // 2, 2)


class EqualSlotConfig(_Base):
    """w = direction x confidence / N (N = the whole universe): the engine's default."""

    method: Literal["equal_slot"]


class EqualWeightConfig(WeightingConfig):
    """w = direction x gross / (number of active signals)."""

    method: Literal["equal_weight"]


class ConfidenceConfig(WeightingConfig):
    """w = direction x gross x confidence / sum(confidence) over active signals."""

    method: Literal["confidence"]


class VolTargetConfig(WeightingConfig):
    """w_i = d_i x target_vol / vol_i, then scaled to an ex-ante vol of target_vol."""

    method: Literal["vol_target"]
    target_vol: float = Field(0.10, gt=0)
    estimator: Literal["std", "atr"] = "std"
    atr_window: int = Field(14, ge=1)
    scale_to_target: bool = True  # rescale by the covariance so sigma_p = target_vol


class InverseVolConfig(WeightingConfig):
    """w_i proportional to d_i / vol_i, gross = ``gross``."""

    method: Literal["inverse_vol"]


class ErcConfig(WeightingConfig):
    """Equal risk contribution (risk parity), long in each signal's direction."""

    method: Literal["erc"]


class KellyConfig(WeightingConfig):
    """w = fraction x Sigma^-1 mu (only names whose sign agrees with the signal)."""

    method: Literal["kelly"]
    fraction: float = Field(0.5, gt=0, le=1)


class MeanVarianceConfig(WeightingConfig):
    """PyPortfolioOpt EfficientFrontier on trailing mean returns and LW covariance."""

    method: Literal["mean_variance"]
    objective: Literal[
        "max_sharpe", "min_volatility", "efficient_risk", "max_quadratic_utility"
    ] = "max_sharpe"
    risk_free_rate: float = 0.0
    risk_aversion: float = Field(1.0, gt=0)
    target_vol: float = Field(0.10, gt=0)  # for efficient_risk
    l2_gamma: float = Field(0.0, ge=0)  # L2 regularisation (more names)


class BlackLittermanConfig(WeightingConfig):
    """Black-Litterman posterior (equal-weight market prior, views from the signals)."""

    method: Literal["black_litterman"]
    objective: Literal["max_sharpe", "min_volatility", "max_quadratic_utility"] = (
        "max_quadratic_utility"
    )
    risk_aversion: float = Field(2.5, gt=0)
    tau: float = Field(0.05, gt=0)
    view_return: float = 0.05  # annual excess return expected in the signal's direction
    views: dict[str, float] = Field(default_factory=dict)  # absolute annual views by symbol
    default_confidence: float = Field(0.5, gt=0, le=1)  # when the signals carry none
    risk_free_rate: float = 0.0


class MaxDiversificationConfig(WeightingConfig):
    """Maximum diversification ratio (sum w_i vol_i / vol_p), long in each direction."""

    method: Literal["max_diversification"]


PortfolioConfig = Annotated[
    EqualSlotConfig
    | EqualWeightConfig
    | ConfidenceConfig
    | VolTargetConfig
    | InverseVolConfig
    | ErcConfig
    | KellyConfig
    | MeanVarianceConfig
    | BlackLittermanConfig
    | MaxDiversificationConfig,
    Field(discriminator="method"),
]

METHODS = (
    "equal_slot", "equal_weight", "confidence", "vol_target", "inverse_vol", "erc", "kelly",
    "mean_variance", "black_litterman", "max_diversification",
)  # fmt: skip
