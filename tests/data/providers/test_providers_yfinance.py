"""yfinance client against recorded Yahoo chart API v8 responses on a local server.

The official ``yfinance.Ticker.history`` runs unmodified; only the origin of its
``*.yahoo.com`` requests is swapped for the local server through ``YahooSession``.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
)
from alphapulse.data.providers.yfinance_client import YahooSession, YFinanceProvider

from .conftest import FIXTURES, Reply  # noqa: F401  (documented helpers)
