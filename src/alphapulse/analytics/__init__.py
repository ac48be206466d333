"""Performance analytics: bar frequency, round trips, drawdowns and summary metrics."""

from alphapulse.analytics.frequency import periods_per_year
from alphapulse.analytics.metrics import METRIC_KEYS, compute_metrics
from alphapulse.analytics.trades import open_positions, round_trips, traded_notional

__all__ = [
    "METRIC_KEYS",
    "compute_metrics",
    "open_positions",
    "periods_per_year",
    "round_trips",
    "traded_notional",
]
