"""Self-contained HTML tearsheets of backtest runs (plotly, JavaScript embedded)."""

from alphapulse.analytics.report.compare import build_comparison
from alphapulse.analytics.report.loader import RunData, load_run
from alphapulse.analytics.report.tearsheet import build_report

__all__ = ["RunData", "build_comparison", "build_report", "load_run"]
