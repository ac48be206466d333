"""Feature-set configuration: a named, versioned list of feature specs plus a causal
normalisation, validated by pydantic and loadable from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from alphapulse.core.bounds import MAX_WINDOW_BARS, Bars
from alphapulse.core.errors import ConfigError, validation_text
from alphapulse.core.trust import catalog_folder
from alphapulse.core.yaml_text import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Spec(_Strict):
    normalize: bool = True  # whether the set's normalisation applies to this feature


class ReturnsSpec(_Spec):
    """``ret_{h}`` = ln(close_k / close_{k-h}) over the symbol's last h bars."""

    kind: Literal["returns"] = "returns"
    horizons: list[Annotated[Bars, Field(ge=1)]] = Field(default_factory=lambda: [1, 5, 21, 63])


class RsiSpec(_Spec):
    """``rsi_{p}``: Wilder RSI, 0..100 (TA-Lib's definition and seeding)."""

    kind: Literal["rsi"] = "rsi"
    period: Bars = Field(14, ge=2)


class MacdSpec(_Spec):
    """``macd_hist_{f}_{s}_{g}``: TA-Lib MACD histogram divided by the close."""

    kind: Literal["macd"] = "macd"
    fast: Bars = Field(12, ge=2)
    slow: Bars = Field(26, ge=2)
    signal: Bars = Field(9, ge=1)

    @model_validator(mode="after")
    def _order(self) -> MacdSpec:
        if self.fast >= self.slow:
            raise ValueError("macd: fast must be < slow")
        return self


class AtrSpec(_Spec):
    """``atr_{p}``: Wilder average true range (TA-Lib) divided by the close."""

    kind: Literal["atr"] = "atr"
    period: Bars = Field(14, ge=2)


class AdxSpec(_Spec):
    """``adx_{p}``: Wilder ADX, 0..100 (TA-Lib)."""

    kind: Literal["adx"] = "adx"
    period: Bars = Field(14, ge=2)


class BollingerSpec(_Spec):
    """``bb_pctb_{p}``: Bollinger %B = (close - lower) / (upper - lower)."""

    kind: Literal["bollinger"] = "bollinger"
    period: Bars = Field(20, ge=2)
    nbdev: float = Field(2.0, gt=0)


class ObvSpec(_Spec):
    """``obv_{w}``: OBV change over w bars / volume over w bars (in [-1, 1])."""

    kind: Literal["obv"] = "obv"
    window: Bars = Field(20, ge=2)


class RealizedVolSpec(_Spec):
    """``rv_{w}``: sample standard deviation of the last w log returns."""

    kind: Literal["realized_vol"] = "realized_vol"
    window: Bars = Field(21, ge=2)


class VolumeZSpec(_Spec):
    """``volz_{w}``: z-score of ln(1 + volume) within its last w bars."""

    kind: Literal["volume_z"] = "volume_z"
    window: Bars = Field(21, ge=3)


class AmihudSpec(_Spec):
    """``amihud_{w}``: ln of the mean of |return| / dollar volume over w bars."""

    kind: Literal["amihud"] = "amihud"
    window: Bars = Field(21, ge=2)


class RollSpreadSpec(_Spec):
    """``roll_{w}``: Roll's spread 2 sqrt(max(0, -cov(r_k, r_{k-1}))) over w pairs."""

    kind: Literal["roll_spread"] = "roll_spread"
    window: Bars = Field(21, ge=3)


class CorwinSchultzSpec(_Spec):
    """``cs_{w}``: Corwin-Schultz high-low spread (overnight-adjusted, floored at 0),
    averaged over w bar pairs."""

    kind: Literal["cs_spread"] = "cs_spread"
    window: Bars = Field(21, ge=1)


class MarketSpec(_Spec):
    """``beta_{w}``, ``corr_{w}``: rolling beta and correlation of the symbol's log returns
    to the index (a benchmark symbol, or the cross-sectional mean return) over w bars."""

    kind: Literal["market"] = "market"
    window: Bars = Field(63, ge=3)


class CalendarSpec(_Spec):
    """``dow_sin``, ``dow_cos``, ``month_sin``, ``month_cos`` (UTC date), never normalised."""

    kind: Literal["calendar"] = "calendar"
    normalize: bool = False


class SentimentSpec(_Spec):
    """``sent_score``, ``sent_count``, ``sent_surprise``: the news factor of
    ``alphapulse.news`` (VADER; a headline is usable from its ``known_at``, a dated one
    from that date's close, plus ``lag_bars``)."""

    kind: Literal["sentiment"] = "sentiment"
    news: str = "news_headlines_2021_2022"
    bar: str = "1D"
    halflife: float = Field(3.0, gt=0.0, le=MAX_WINDOW_BARS)  # bars
    window: Bars = Field(60, ge=2)
    min_periods: Bars = Field(20, ge=2)
    lag_bars: Bars = Field(0, ge=0)

    _news = field_validator("news")(catalog_folder)  # from a client (``core/trust.py``)


FeatureSpec = Annotated[
    ReturnsSpec
    | RsiSpec
    | MacdSpec
    | AtrSpec
    | AdxSpec
    | BollingerSpec
    | ObvSpec
    | RealizedVolSpec
    | VolumeZSpec
    | AmihudSpec
    | RollSpreadSpec
    | CorwinSchultzSpec
    | MarketSpec
    | CalendarSpec
    | SentimentSpec,
    Field(discriminator="kind"),
]


class NormalizeConfig(_Strict):
    """Causal per-symbol z-scoring of each feature over the symbol's own bars: within the
    last ``window`` values (``rolling_z``) or all values so far (``expanding_z``)."""

    method: Literal["none", "rolling_z", "expanding_z"] = "rolling_z"
    window: Bars = Field(252, ge=2)
    min_periods: Bars = Field(20, ge=2)


class FeatureSetConfig(_Strict):
    name: str
    version: int = Field(1, ge=1)
    features: list[FeatureSpec]
    normalize: NormalizeConfig = Field(default_factory=NormalizeConfig)

    @model_validator(mode="after")
    def _check(self) -> FeatureSetConfig:
        if not self.features:
            raise ValueError("a feature set needs at least one feature")
        if self.normalize.method == "rolling_z" and self.normalize.min_periods > (
            self.normalize.window
        ):
            raise ValueError("normalize.min_periods must be <= normalize.window")
        return self


def load_feature_set(path: str | Path) -> FeatureSetConfig:
    """Read a feature-set YAML file (a ``ConfigError`` naming it when it cannot be)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return FeatureSetConfig.model_validate(load_yaml(fh.read()))
    except OSError as exc:
        raise ConfigError(f"feature set {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"feature set {path}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"feature set {path}: not YAML: {' '.join(str(exc).split())}") from None
    except ValidationError as exc:
        raise ConfigError(f"feature set {path}: {validation_text(exc)}") from None


def default_feature_set() -> FeatureSetConfig:
    """The standard set: every kind with its default parameters."""
    return FeatureSetConfig(
        name="default",
        version=1,
        features=[
            ReturnsSpec(),
            RsiSpec(),
            MacdSpec(),
            AtrSpec(),
            AdxSpec(),
            BollingerSpec(),
            ObvSpec(),
            RealizedVolSpec(),
            VolumeZSpec(),
            AmihudSpec(),
            RollSpreadSpec(),
            CorwinSchultzSpec(),
            MarketSpec(),
            CalendarSpec(),
        ],
    )
