"""Small synthetic news tables for the news tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphapulse.news import items
from alphapulse.news.scoring import vader_scores

HEADLINES = (
    "Tesla shares soar on record deliveries",
    "Tesla recalls cars after crash probe",
    "TSLA rallies as Musk praises strong demand",
    "Microsoft beats estimates, cloud growth strong",
    "Microsoft faces lawsuit and weak PC sales",
    "MSFT slips after disappointing guidance",
    "Stocks mixed as investors await the Fed",
    "Tesla shares soar on record deliveries!",
)
SCORES = dict(zip(HEADLINES, vader_scores(list(HEADLINES)), strict=True))
SYMBOLS = ("MSFT", "TSLA")
START = pd.Timestamp("2022-03-01", tz="UTC")
HOUR = 3600 * 10**9


def bar_stamps(n: int) -> np.ndarray:
    """``n`` hourly bar stamps (ns) from START."""
    return START.value + np.arange(n, dtype=np.int64) * HOUR


def table(specs: list[tuple[int, int, int]]) -> pd.DataFrame:
    """Items from (minute offset from START, symbol index, headline index) triples."""
    rows = pd.DataFrame(
        {
            "symbol": [SYMBOLS[s] for _, s, _ in specs],
            "headline": [HEADLINES[h] for _, _, h in specs],
            "published_at": [START + pd.Timedelta(minutes=m) for m, _, _ in specs],
        }
    )
    return items.normalize(rows) if specs else items.empty()


def scores_of(tab: pd.DataFrame) -> np.ndarray:
    return np.array([SCORES[h] for h in tab["headline"]], dtype=np.float64)
