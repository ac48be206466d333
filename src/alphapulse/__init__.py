"""AlphaPulse: one event-driven engine from market data to paper trading."""

__version__ = "0.1.0"
