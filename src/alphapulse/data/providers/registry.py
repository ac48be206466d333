"""Look up a provider by name; each client module is imported only when asked for."""

from __future__ import annotations

from typing import Any, Final

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.base import HistoricalProvider

PROVIDERS: Final[tuple[str, ...]] = ("yfinance", "alpaca", "ccxt")


def get_provider(name: str, **kwargs: Any) -> HistoricalProvider:
    """A new provider client; ``kwargs`` go to its constructor.

    ``"yfinance"`` -> :class:`YFinanceProvider`, ``"alpaca"`` -> :class:`AlpacaProvider`,
    ``"ccxt"`` -> :class:`CCXTProvider` (pass ``exchange="kraken"`` etc.; Binance default).
    """
    key = name.strip().lower()
    if key == "yfinance":
        from alphapulse.data.providers.yfinance_client import YFinanceProvider

        return YFinanceProvider(**kwargs)
    if key == "alpaca":
        from alphapulse.data.providers.alpaca_client import AlpacaProvider

        return AlpacaProvider(**kwargs)
    if key == "ccxt":
        from alphapulse.data.providers.ccxt_client import CCXTProvider

        return CCXTProvider(**kwargs)
    raise ConfigError(f"unknown data provider {name!r}; choose one of {', '.join(PROVIDERS)}")
