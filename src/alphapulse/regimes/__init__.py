"""Regime detection: HMM (filtered probabilities), change points, volatility percentiles;
one interface (``Detector``) for batch research and bar-by-bar use in the engine."""

from alphapulse.regimes.base import WARMUP, Detector, RegimeSeries, RegimeStep, log_returns
from alphapulse.regimes.changepoint import ChangePointRegime
from alphapulse.regimes.config import DetectorConfig, detector_config
from alphapulse.regimes.hmm import HMMRegime
from alphapulse.regimes.vol import VolRegime

__all__ = [
    "WARMUP",
    "ChangePointRegime",
    "Detector",
    "DetectorConfig",
    "HMMRegime",
    "RegimeSeries",
    "RegimeStep",
    "VolRegime",
    "detector_config",
    "log_returns",
]
