"""The hybrid strategy's configuration: experts, detector, fuser and per-regime rules.

Checked when the config loads, each error naming its key: an unknown expert (or bad
expert params), a regime rule weighting an expert that is not configured, regimes that
miss a label of the detector or name one it cannot produce, more HMM labels than states.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.config import StrategyConfig
from alphapulse.execution.algos.config import AlgoName
from alphapulse.regimes.config import DetectorConfig
from alphapulse.strategies.base import StrategyParams


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # finite


class RegimeRule(_Strict):
    """What the hybrid does in one regime: expert weights, limits, execution style."""

    weights: dict[str, float] = Field(default_factory=dict)  # expert -> weight (missing: 0)
    gross: float = Field(1.0, gt=0, le=1)  # cap on sum |w| (fraction of equity)
    max_position: float | None = Field(None, gt=0, le=1)  # cap on one |w|
    stop: float | None = Field(None, gt=0, lt=1)  # exit a position this far against entry
    execution: Literal["market", "limit"] = "market"
    limit_offset_bps: float = Field(0.0, ge=0)  # passive: buy below / sell above the close
    # the execution algorithm of this regime's market targets (the strategy's
    # ``execution:`` block works them); None: the block's own algorithm
    algo: AlgoName | None = None

    @model_validator(mode="after")
    def _nonneg(self) -> RegimeRule:
        bad = [k for k, v in self.weights.items() if v < 0]  # finite (the model config)
        if bad:
            raise ValueError(f"weights.{bad[0]}: must be >= 0")
        if self.algo is not None and self.execution == "limit":
            raise ValueError("algo: works market targets (this rule's execution is limit)")
        return self


class StackingConfig(_Strict):
    horizon: int = Field(5, ge=1)
    refit_every: int = Field(63, ge=1)
    min_train: int = Field(250, ge=20)
    train_window: int | None = Field(1000, ge=20)
    n_splits: int = Field(3, ge=1)
    threshold: float = Field(0.1, ge=0, lt=1)


class HybridParams(StrategyParams):
    experts: list[StrategyConfig] = Field(min_length=1)
    detector: DetectorConfig | None = None  # None: no gating (``default`` rule always)
    fuser: Literal["vote", "confidence", "risk_budget", "stacking"] = "vote"
    regimes: dict[str, RegimeRule] = Field(default_factory=dict)
    default: RegimeRule | None = None  # warmup / no detector; None: equal weights
    rebalance_every: int = Field(1, ge=1)  # bars between decisions
    threshold: float = Field(0.2, ge=0, lt=1)  # confidence fusers: |score| <= it is flat
    vol_lookback: int = Field(60, ge=10)  # risk budget: bars of shadow-book returns
    shadow_cost_bps: float = Field(5.0, ge=0)  # costs in the experts' shadow books
    stacking: StackingConfig = Field(default_factory=StackingConfig)

    @property
    def execution_algos(self) -> tuple[str, ...]:
        """The execution algorithms the rules choose (they need an ``execution:`` block)."""
        rules = [*self.regimes.values(), self.default]
        return tuple(sorted({r.algo for r in rules if r is not None and r.algo is not None}))

    @model_validator(mode="after")
    def _check(self) -> HybridParams:
        names = self.expert_names
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"experts: names must be unique; repeated: {', '.join(dupes)}")
        rules = [(f"regimes.{k}", r) for k, r in self.regimes.items()]
        for key, rule in [*rules, ("default", self.default)]:
            for w in rule.weights if rule else ():
                if w not in names:
                    raise ValueError(
                        f"{key}.weights.{w}: unknown expert (experts: {', '.join(names)})"
                    )
        if self.detector is None:
            if self.regimes:
                raise ValueError("regimes: need a detector (or use default: without one)")
            return self
        labels = self.detector.label_set
        about = f"the {self.detector.kind} detector's labels: {', '.join(labels)}"
        for key in self.regimes:
            if key not in labels:
                raise ValueError(f"regimes.{key}: not a label of {about}")
        missing = [lab for lab in labels if lab not in self.regimes]
        if missing:
            raise ValueError(f"regimes: missing regime {missing[0]!r} ({about})")
        return self

    @property
    def expert_names(self) -> list[str]:
        return [e.label for e in self.experts]
