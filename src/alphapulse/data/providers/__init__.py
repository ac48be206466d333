"""Market-data provider clients (yfinance, Alpaca, ccxt) behind one interface.

``get_provider(name, **kwargs).fetch_bars(symbol, start, end, timeframe)`` returns the
platform's normalised bar frame. The client modules import their third-party library
lazily, through :func:`get_provider`.
"""

from alphapulse.data.providers.base import TIMEFRAMES, HistoricalProvider, Timeframe
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitError,
    ProviderUnavailableError,
)
from alphapulse.data.providers.registry import PROVIDERS, get_provider
from alphapulse.data.providers.retry import RateLimiter, RetryPolicy

__all__ = [
    "PROVIDERS",
    "TIMEFRAMES",
    "HistoricalProvider",
    "ProviderAuthError",
    "ProviderError",
    "ProviderRateLimitError",
    "ProviderUnavailableError",
    "RateLimiter",
    "RetryPolicy",
    "Timeframe",
    "get_provider",
]
