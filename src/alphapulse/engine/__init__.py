"""The one event loop shared by backtests and paper trading."""
