"""The per-strategy ``execution:`` block: which algorithm works parent orders and how.

execution: {algo: vwap, horizon: 30min, max_participation: 0.1, urgency: medium}
"""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AlgoName = Literal["market", "twap", "vwap", "pov", "is"]
Urgency = Literal["low", "medium", "high"]
ALGOS: tuple[str, ...] = ("market", "twap", "vwap", "pov", "is")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _minutes(hhmm: str) -> int:
    m = _HHMM.match(hhmm)
    if m is None:
        raise ValueError(f"{hhmm!r}: expected HH:MM")
    return int(m.group(1)) * 60 + int(m.group(2))


class AlgoConfig(BaseModel):
    """How parent orders are worked (``docs/execution.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algo: AlgoName = "twap"
    horizon: str = "30min"  # a pandas duration: 30min, 2h, 5d
    max_participation: float = Field(0.1, gt=0, le=1)  # child cap; the POV rate
    urgency: Urgency = "medium"
    passive: bool = True  # allow passive limit children
    limit_timeout: int = Field(3, ge=1)  # bars a passive child rests before re-pricing
    leftover: Literal["cancel", "carry", "market"] = "cancel"  # rule at the session end
    session: tuple[str, str] | None = None  # local HH:MM open/close; None: every bar
    profile_sessions: int = Field(20, ge=1, le=250)  # VWAP: past sessions in the profile
    # on schedule: wait for this much to trade
    min_child_notional: float = Field(0.0, ge=0, allow_inf_nan=False)
    child_interval: int = Field(1, ge=1)  # bars between a parent's children (1: every bar)

    @field_validator("horizon")
    @classmethod
    def _horizon(cls, v: str) -> str:
        try:
            ns = pd.Timedelta(v).value
        except (ValueError, TypeError):
            raise ValueError(f"{v!r}: not a duration (e.g. 30min, 2h, 1d)") from None
        if ns <= 0:
            raise ValueError(f"{v!r}: must be positive")
        return v

    @field_validator("session")
    @classmethod
    def _session(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        if v is not None and _minutes(v[0]) >= _minutes(v[1]):
            raise ValueError("session: the open must come before the close")
        return v

    @model_validator(mode="after")
    def _leftover(self) -> AlgoConfig:
        if self.leftover != "cancel" and self.session is None:
            raise ValueError(f"leftover: {self.leftover!r} needs session hours")
        return self

    @property
    def horizon_ns(self) -> int:
        return int(pd.Timedelta(self.horizon).value)

    @property
    def session_minutes(self) -> tuple[int, int] | None:
        """The session as local minutes of the day [open, close)."""
        if self.session is None:
            return None
        return _minutes(self.session[0]), _minutes(self.session[1])
