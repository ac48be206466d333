"""The ``anomalies:`` section of a run config (``docs/anomalies.md``). Omit it and no
detector runs (zero per-step cost); give it (even ``anomalies: {}``) for the defaults::

    anomalies:
      span: 60                    # bars of the EWMA scales (returns, volume, beta)
      min_periods: 20             # bars a symbol needs before it is scored
      volume_profile: false       # intraday: volume baseline per minute of day
      price:    {low: 5, medium: 6, high: 8, critical: 12}   # robust |z| thresholds
      stale:    {low: 5, medium: 10, high: 20, critical: 50} # bars unchanged
      pattern:  {enabled: true, window: 250, refit_every: 126, gate: 2.0}
      min_severity: low           # rows kept in anomalies.csv / the table
      alerts: {min_severity: high, cooldown_bars: 5, webhook: {url: ...}}
      reaction: {min_severity: critical, action: block, bars: 5}
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alphapulse.core.bounds import Bars
from alphapulse.core.storable import Storable


class Severity(IntEnum):
    """How unusual an anomaly is; ordered, so ``sev >= Severity.HIGH`` works."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, name: str) -> Severity:
        """``'high'`` / ``'HIGH'`` -> ``Severity.HIGH``."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {name!r} (low, medium, high, critical)") from None


SeverityName = Literal["low", "medium", "high", "critical"]

#: The forest's training pool is thinned (fixed stride) to at most this many rows, so
#: ``pattern.max_samples`` (rows drawn per tree) is at most this too.
MAX_TRAIN_ROWS: Final = 8192


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # finite


class Thresholds(_Strict):
    """Score at or above which an anomaly is LOW / MEDIUM / HIGH / CRITICAL."""

    low: float = Field(gt=0)
    medium: float = Field(gt=0)
    high: float = Field(gt=0)
    critical: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.low <= self.medium <= self.high <= self.critical:
            raise ValueError("thresholds must satisfy low <= medium <= high <= critical")
        return self

    def levels(self) -> tuple[float, float, float, float]:
        return (self.low, self.medium, self.high, self.critical)


def _z(low: float, medium: float, high: float, critical: float) -> Thresholds:
    return Thresholds(low=low, medium=medium, high=high, critical=critical)


class PatternConfig(_Strict):
    """IsolationForest on causal features, fitted on the trailing ``window`` bars of all
    symbols and refitted every ``refit_every`` bars; scores in (0, 1), 0.5 is ordinary.
    Rows whose features are all within ``gate`` sigmas are ordinary and not scored."""

    enabled: bool = True
    window: Bars = Field(250, ge=20)
    refit_every: Bars = Field(126, ge=1)
    n_estimators: int = Field(32, ge=5, le=500)
    max_samples: int = Field(256, ge=16, le=MAX_TRAIN_ROWS)  # rows per tree
    seed: int = 0
    gate: float = Field(2.0, ge=0)  # rows with every |feature z| below this are not scored
    thresholds: Thresholds = _z(0.70, 0.74, 0.78, 0.82)

    @field_validator("thresholds")
    @classmethod
    def _below_one(cls, t: Thresholds) -> Thresholds:
        if t.critical >= 1:
            raise ValueError("levels must be below 1: forest scores are in (0, 1)")
        return t


class WebhookConfig(_Strict):
    """HTTP POST of each alert as JSON; retried with backoff, then counted as failed."""

    url: str = Field(pattern=r"^https?://")
    timeout: float = Field(2.0, gt=0)
    retries: int = Field(3, ge=0, le=20)
    backoff: float = Field(0.5, ge=0)  # seconds, doubled per retry


class AlertConfig(_Strict):
    """Which anomalies become alerts: at least ``min_severity``, at most one per symbol
    and type within ``cooldown_bars`` (a higher severity still goes through)."""

    min_severity: SeverityName = "high"
    cooldown_bars: Bars = Field(5, ge=0)
    log: bool = True
    webhook: WebhookConfig | None = None


class ReactionConfig(_Strict):
    """Risk-stage reaction to anomalies of at least ``min_severity`` in a symbol:
    ``block`` new entries for ``bars`` bars, or ``flatten`` the position (then block)."""

    min_severity: SeverityName = "critical"
    action: Literal["block", "flatten"] = "block"
    bars: Bars = Field(5, ge=1)
    types: list[str] | None = None  # None: every type; e.g. [price_jump, gap]

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: list[str] | None) -> list[str] | None:
        from alphapulse.anomaly.kernels import TYPES

        if types is not None and not types:
            raise ValueError("[] reacts to no anomaly; leave types out to react to every type")
        unknown = [t for t in types or [] if t not in TYPES]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not an anomaly type ({', '.join(TYPES)})")
        return types


class AnomalyConfig(_Strict, Storable):
    """Detectors, severity thresholds, output filter, alerts and the risk reaction."""

    span: Bars = Field(60, ge=2)
    min_periods: Bars = Field(20, ge=2)
    winsor: float = Field(4.0, gt=0)  # returns clipped at this many sigmas in the scale
    volume_profile: bool = False
    price: Thresholds = _z(5.0, 6.0, 8.0, 12.0)
    gap: Thresholds = _z(5.0, 6.0, 8.0, 12.0)
    volume: Thresholds = _z(4.0, 5.0, 6.0, 8.0)
    divergence: Thresholds = _z(5.0, 6.0, 8.0, 12.0)
    market: Thresholds = _z(3.0, 4.0, 5.0, 8.0)  # |z| of the cross-sectional median return
    bad_tick: Thresholds = _z(5.0, 6.0, 8.0, 12.0)
    bad_tick_revert: float = Field(0.25, gt=0, lt=1)  # |c_t/c_{t-2}| <= this x the jump
    stale: Thresholds = _z(5, 10, 20, 50)
    stale_active: float = Field(0.5, ge=0, le=1)  # fraction of others that must trade
    pattern: PatternConfig = Field(default_factory=PatternConfig)
    min_severity: SeverityName = "low"
    alerts: AlertConfig | None = None
    reaction: ReactionConfig | None = None

    @model_validator(mode="after")
    def _alerts_are_detected(self) -> AnomalyConfig:
        low = Severity.parse(self.min_severity)
        if self.alerts is not None and Severity.parse(self.alerts.min_severity) < low:
            raise ValueError(
                f"alerts.min_severity {self.alerts.min_severity} is below min_severity"
                f" {self.min_severity}: those alerts would never be raised"
            )
        return self
