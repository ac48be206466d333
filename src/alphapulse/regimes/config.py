"""The ``detector:`` block: one model per ``kind`` (unknown keys are an error)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.regimes.base import Detector
from alphapulse.regimes.changepoint import ChangePointRegime
from alphapulse.regimes.hmm import LABELS as HMM_LABELS
from alphapulse.regimes.hmm import HMMRegime
from alphapulse.regimes.vol import LABELS as VOL_LABELS
from alphapulse.regimes.vol import VolRegime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    proxy: str = "mean"  # a symbol of the universe, or "mean" (cross-sectional mean return)


class HMMConfig(_Strict):
    kind: Literal["hmm"]
    n_states: int = Field(2, ge=2, le=4)
    labels: tuple[str, ...] | None = None  # optional check: the labels expected
    window: int = Field(20, ge=2)
    min_train: int = Field(250, ge=20)
    refit_every: int = Field(63, ge=1)
    train_window: int | None = Field(1000, ge=20)
    n_iter: int = Field(30, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _check_labels(self) -> HMMConfig:
        known = HMM_LABELS[self.n_states]
        if self.labels is not None and len(self.labels) > self.n_states:
            raise ValueError(
                f"labels: {len(self.labels)} labels for {self.n_states} states "
                f"(the labels of {self.n_states} states: {', '.join(known)})"
            )
        if self.labels is not None and set(self.labels) - set(known):
            bad = sorted(set(self.labels) - set(known))
            raise ValueError(f"labels: {bad} are not labels of {self.n_states} states: {known}")
        return self

    def build(self) -> Detector:
        p = self.model_dump(exclude={"kind", "proxy", "labels"})
        return HMMRegime(**p)

    @property
    def label_set(self) -> tuple[str, ...]:
        return HMM_LABELS[self.n_states]


class ChangePointConfig(_Strict):
    kind: Literal["changepoint"]
    window: int = Field(250, ge=30)
    min_size: int = Field(10, ge=2)
    penalty: float = Field(10.0, gt=0)
    ratio: float = Field(1.3, gt=1)
    every: int = Field(1, ge=1)

    def build(self) -> Detector:
        return ChangePointRegime(**self.model_dump(exclude={"kind", "proxy"}))

    @property
    def label_set(self) -> tuple[str, ...]:
        return VOL_LABELS


class VolConfig(_Strict):
    kind: Literal["vol"]
    window: int = Field(20, ge=2)
    lookback: int = Field(756, ge=10)
    min_history: int = Field(60, ge=5)
    enter: float = Field(0.8, gt=0, le=1)
    exit: float = Field(0.6, gt=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> VolConfig:
        if self.exit >= self.enter:
            raise ValueError("exit: must be below enter")
        return self

    def build(self) -> Detector:
        return VolRegime(**self.model_dump(exclude={"kind", "proxy"}))

    @property
    def label_set(self) -> tuple[str, ...]:
        return VOL_LABELS


DetectorConfig = Annotated[HMMConfig | ChangePointConfig | VolConfig, Field(discriminator="kind")]
KINDS = ("hmm", "changepoint", "vol")


def detector_config(kind: str, **params: object) -> HMMConfig | ChangePointConfig | VolConfig:
    """A validated detector config from a kind and its parameters."""
    from pydantic import TypeAdapter

    return TypeAdapter(DetectorConfig).validate_python({"kind": kind, **params})
