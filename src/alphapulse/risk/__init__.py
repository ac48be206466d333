"""Risk management: pre-trade checks, bracket stops, portfolio guards and risk measures
(``docs/risk.md``). ``build_risk`` makes the configured risk stage of a run."""

from __future__ import annotations

from alphapulse.anomaly.config import AnomalyConfig
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.risk.config import RiskConfig
from alphapulse.risk.manager import StandardRiskManager

__all__ = ["RiskConfig", "StandardRiskManager", "build_risk"]


def build_risk(
    cfg: RiskConfig,
    symbols: tuple[str, ...],
    execution: ExecutionConfig,
    anomalies: AnomalyConfig | None = None,
) -> StandardRiskManager:
    """The risk stage of ``cfg`` for ``symbols``, sharing the venue's shorting and lots
    (``anomalies``: the run's anomaly config, for its ``reaction``)."""
    return StandardRiskManager(
        cfg,
        symbols,
        allow_short=execution.allow_short,
        lot_size=execution.lot_size,
        anomalies=anomalies,
    )
