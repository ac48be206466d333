"""The REST API: runs, results, strategy control, health and Prometheus metrics.

``create_app(settings)`` builds the FastAPI app (``alphapulse serve`` runs it with
uvicorn); ``Metrics`` is the instrumentation other components call; ``is_enabled`` tells
the paper runtime whether a strategy is switched on. See ``docs/api.md``.
"""

from alphapulse.api.app import create_app
from alphapulse.api.control import is_enabled, set_enabled
from alphapulse.api.metrics import Metrics
from alphapulse.api.settings import ApiSettings

__all__ = ["ApiSettings", "Metrics", "create_app", "is_enabled", "set_enabled"]
