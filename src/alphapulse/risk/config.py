"""The ``risk:`` section of a run config. Omit the section for the pass-through risk
stage; give it (even empty, ``risk: {}``) for the limits, guards and measures below
with their defaults. Any limit set to ``null`` is off::

    risk:
      limits:
        max_position_pct: 0.10      # |position| <= 10% of equity
        max_group_pct: 0.30         # sum |positions| of a group <= 30% of equity
        groups: {AAPL: tech, MSFT: tech, XOM: energy}
        max_gross_leverage: 1.0
        max_net_leverage: 1.0
        max_order_notional: null    # cash per order
        max_participation: null     # fraction of the decision bar's volume
        min_price: null
      stops:
        stop_loss: {method: atr, value: 3.0}    # or {method: pct, value: 0.05}
        take_profit: {method: pct, value: 0.10}
        trailing: true
      guards:
        daily_loss_limit: 0.03
        max_drawdown: 0.15
        intraday_loss_limit: 0.03
        stale_data: {bars: 5, action: block}
        error_burst: {count: 5, window: 10}
        auto_disable: {underperformance: 0.10, window: 126, patience: 21}
      measures: {window: 250, benchmark: null}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.core.bounds import Bars


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _frac(default: float | None) -> Any:
    return Field(default, gt=0, allow_inf_nan=False)


class LimitsConfig(_Strict):
    """Pre-trade limits, checked on every order (``risk/checks.py``)."""

    max_position_pct: float | None = _frac(0.10)
    max_group_pct: float | None = _frac(0.30)
    groups: dict[str, str] = Field(default_factory=dict)  # symbol -> group (else its own)
    max_gross_leverage: float | None = _frac(1.0)
    max_net_leverage: float | None = _frac(1.0)
    max_order_notional: float | None = _frac(None)
    max_participation: float | None = Field(None, gt=0, le=1)
    min_price: float | None = _frac(None)
    cash_buffer: float = Field(0.0, ge=0, lt=1)  # fraction of a buy kept for costs


class ExitRule(_Strict):
    """A stop-loss or take-profit distance: a fraction of the price, or ATR multiples."""

    method: Literal["pct", "atr"] = "pct"
    value: float = Field(gt=0, allow_inf_nan=False)


class StopsConfig(_Strict):
    """Bracket exits attached to every order that opens or adds to a position."""

    stop_loss: ExitRule | None = None
    take_profit: ExitRule | None = None
    trailing: bool = False  # move the stop with the high-water mark, never loosen
    atr_window: Bars = Field(14, ge=1)
    cooldown_bars: Bars = Field(0, ge=0)  # no re-entry for N bars after a stop-out

    @model_validator(mode="after")
    def _stop_below_the_price(self) -> StopsConfig:
        rule = self.stop_loss
        if rule is not None and rule.method == "pct" and rule.value >= 1:
            raise ValueError(
                f"stop_loss: pct value {rule.value} is a fraction of the price (0.05 = 5%):"
                " at 1 or more a long's stop is at or below zero, so longs get none"
            )
        return self


class StaleDataConfig(_Strict):
    bars: Bars = Field(5, ge=1)  # consecutive steps without a bar of a held symbol
    action: Literal["block", "flatten"] = "block"


class ErrorBurstConfig(_Strict):
    count: int = Field(5, ge=1)  # venue rejections ...
    window: Bars = Field(10, ge=1)  # ... within this many bars -> halt


class AutoDisableConfig(_Strict):
    """Disable the strategy on a drawdown breach or sustained underperformance against
    the equal-weight buy-and-hold of the universe over a trailing window."""

    max_drawdown: float | None = Field(None, gt=0, lt=1)
    underperformance: float | None = Field(0.10, gt=0, allow_inf_nan=False)  # vs benchmark
    window: Bars = Field(126, ge=2)
    patience: Bars = Field(21, ge=1)  # consecutive bars below before disabling
    action: Literal["halt", "flatten"] = "flatten"


class GuardsConfig(_Strict):
    """Portfolio guards, evaluated after every bar (``risk/guards.py``)."""

    daily_loss_limit: float | None = Field(0.03, gt=0, lt=1)
    max_drawdown: float | None = Field(0.15, gt=0, lt=1)  # kill switch: flatten + halt
    intraday_loss_limit: float | None = Field(0.03, gt=0, lt=1)  # from the session open
    stale_data: StaleDataConfig | None = Field(default_factory=StaleDataConfig)
    error_burst: ErrorBurstConfig | None = Field(default_factory=ErrorBurstConfig)
    auto_disable: AutoDisableConfig | None = None


class MeasuresConfig(_Strict):
    """Per-step risk measures (``risk/measures.py``)."""

    enabled: bool = True
    window: Bars = Field(250, ge=2)  # trailing returns for VaR/CVaR/beta
    min_periods: Bars = Field(20, ge=2)
    benchmark: str | None = None  # a symbol of the universe; None = equal-weight universe

    @model_validator(mode="after")
    def _window_holds_min_periods(self) -> MeasuresConfig:
        if self.min_periods > self.window:
            raise ValueError(
                f"min_periods {self.min_periods} > window {self.window}: the window never holds"
                " enough returns, every VaR/CVaR/beta would be NaN"
            )
        return self


class RiskConfig(_Strict):
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    stops: StopsConfig = Field(default_factory=StopsConfig)
    guards: GuardsConfig = Field(default_factory=GuardsConfig)
    measures: MeasuresConfig = Field(default_factory=MeasuresConfig)
