"""Builds the configured portfolio constructor (``portfolio:`` section of a run)."""

from __future__ import annotations

from typing import Any

from alphapulse.core.errors import ConfigError
from alphapulse.engine.stages import PortfolioConstructor
from alphapulse.portfolio.config import (
    BlackLittermanConfig,
    ConfidenceConfig,
    EqualSlotConfig,
    EqualWeightConfig,
    ErcConfig,
    InverseVolConfig,
    KellyConfig,
    MaxDiversificationConfig,
    MeanVarianceConfig,
    PortfolioConfig,
    VolTargetConfig,
    WeightingConfig,
)
from alphapulse.portfolio.construction import ConfidenceWeighted, EqualSlot, EqualWeight
from alphapulse.portfolio.optimizers import (
    BlackLitterman,
    FractionalKelly,
    MaxDiversification,
    MeanVariance,
    RiskParity,
)
from alphapulse.portfolio.rebalance import Rebalancer
from alphapulse.portfolio.vol_target import InverseVolatility, VolatilityTarget


def _common(cfg: WeightingConfig) -> dict[str, Any]:
    return {
        "gross": cfg.gross,
        "max_weight": cfg.max_weight,
        "max_gross": cfg.gross_cap,
        "lookback": cfg.lookback,
        "min_obs": cfg.min_obs,
        "periods_per_year": cfg.periods_per_year,
        "shrinkage": cfg.shrinkage,
    }


def _method(cfg: PortfolioConfig, symbols: tuple[str, ...]) -> PortfolioConstructor:
    if isinstance(cfg, EqualSlotConfig):
        return EqualSlot(cfg.gross)
    c = _common(cfg)
    if isinstance(cfg, EqualWeightConfig):
        return EqualWeight(**c)
    if isinstance(cfg, ConfidenceConfig):
        return ConfidenceWeighted(**c)
    if isinstance(cfg, VolTargetConfig):
        return VolatilityTarget(
            cfg.target_vol,
            estimator=cfg.estimator,
            atr_window=cfg.atr_window,
            scale_to_target=cfg.scale_to_target,
            **c,
        )
    if isinstance(cfg, InverseVolConfig):
        return InverseVolatility(**c)
    if isinstance(cfg, ErcConfig):
        return RiskParity(**c)
    if isinstance(cfg, KellyConfig):
        return FractionalKelly(cfg.fraction, **c)
    if isinstance(cfg, MeanVarianceConfig):
        return MeanVariance(
            cfg.objective,
            risk_free_rate=cfg.risk_free_rate,
            risk_aversion=cfg.risk_aversion,
            target_vol=cfg.target_vol,
            l2_gamma=cfg.l2_gamma,
            **c,
        )
    if isinstance(cfg, BlackLittermanConfig):
        unknown = sorted(set(cfg.views) - set(symbols))
        if unknown:
            raise ConfigError(
                f"portfolio.black_litterman.views: {', '.join(unknown)} not among the symbols"
            )
        return BlackLitterman(
            cfg.objective,
            risk_aversion=cfg.risk_aversion,
            tau=cfg.tau,
            view_return=cfg.view_return,
            views=cfg.views,
            default_confidence=cfg.default_confidence,
            risk_free_rate=cfg.risk_free_rate,
            **c,
        )
    if isinstance(cfg, MaxDiversificationConfig):
        return MaxDiversification(**c)
    raise TypeError(f"unknown portfolio method {cfg!r}")  # pragma: no cover


def build_constructor(
    cfg: PortfolioConfig, symbols: tuple[str, ...], tz: str = "UTC"
) -> PortfolioConstructor:
    """The constructor of ``cfg`` for ``symbols``, wrapped in a Rebalancer when
    ``rebalance`` is set."""
    inner = _method(cfg, symbols)
    r = cfg.rebalance
    if r is None:
        return inner
    return Rebalancer(
        inner,
        every=r.every,
        calendar=r.calendar,
        drift_threshold=r.drift_threshold,
        tz=tz,
    )
