"""Timing at the boundaries: which daily bar a headline counts at (close +/- 1 s, a
weekend, a +09:00 offset), and the strategy's decision at bar k unchanged by headlines
known after its decision and by prices after k (VADER and the embedding head)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from alphapulse.data.panel import Panel
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.ml.leakage import perturb_after
from alphapulse.news import items
from alphapulse.news.config import FactorConfig, GuardConfig, HeadConfig
from alphapulse.news.factor import decision_times
from alphapulse.news.pipeline import factor_values, prepare
from alphapulse.strategies import sentiment
from alphapulse.strategies.sentiment import SentimentStrategy

SYMS = ("MSFT", "TSLA")
DAYS = pd.date_range("2022-03-01", periods=60, freq="B", tz="UTC")  # 00:00 UTC stamps
STAMPS = DAYS.as_unit("ns").asi8
CLOSE = pd.Timestamp("2022-03-01 21:00", tz="UTC")  # 16:00 New York (EST)
GOOD, BAD = "Microsoft soars on record profit", "Microsoft plunges after terrible loss"


def items_at(times: list[str], headline: str = GOOD, symbol: str = "MSFT") -> pd.DataFrame:
    rows = pd.DataFrame(
        {"symbol": symbol, "headline": [headline] * len(times), "published_at": times}
    )
    return items.normalize(rows)


def counts(tab: pd.DataFrame, lag: int = 0, dedup: str = "text") -> np.ndarray:
    cfg = FactorConfig(lag_bars=lag, guard=GuardConfig.model_validate({"dedup": dedup}))
    return factor_values(prepare(tab, cfg), SYMS, STAMPS[:8], cfg)[:, 0, 1]


@pytest.mark.parametrize(
    ("published", "bar"),
    [
        (CLOSE - pd.Timedelta("1s"), 0),
        (CLOSE, 0),  # at the decision time: counts there (at or after known_at)
        (CLOSE + pd.Timedelta("1s"), 1),
        (pd.Timestamp("2022-03-05 15:00", tz="UTC"), 4),  # Saturday: Monday 7 March
        (pd.Timestamp("2022-03-02 05:59:59+09:00"), 0),  # = CLOSE - 1 s
        (pd.Timestamp("2022-03-02 06:00:01+09:00"), 1),  # = CLOSE + 1 s
        (pd.Timestamp("2022-03-02 09:00", tz="America/New_York"), 1),  # pre-market
    ],
)
def test_a_headline_counts_at_the_first_session_close_at_or_after_it(published, bar) -> None:
    for lag in (0, 1, 2):
        want = np.zeros(8)
        want[bar + lag] = 1.0
        assert np.array_equal(counts(items_at([published.isoformat()]), lag), want)


def test_known_by_the_close_before_the_data_is_left_out() -> None:
    before = pd.Timestamp("2022-02-28 21:00", tz="UTC")  # Monday's close
    later = items_at([(before + pd.Timedelta("1s")).isoformat()], BAD)
    tab = items.concat([items_at([before.isoformat()]), later])
    assert counts(tab).tolist() == [1.0] + [0.0] * 7


def test_exact_repeats_count_once_unless_dedup_is_off_and_other_symbols_are_ignored() -> None:
    same = [(CLOSE - pd.Timedelta("1h")).isoformat()] * 2
    tab = items.concat([items_at(same), items_at(same, "Apple soars", "AAPL")])
    assert counts(tab)[0] == 1.0
    assert counts(tab, dedup="none")[0] == 2.0


def fake_embed(table: pd.DataFrame, cache_dir: object = None) -> np.ndarray:
    """8-d vectors from each headline's hash: the same text, the same vector."""
    seeds = [int(hashlib.sha256(h.encode()).hexdigest()[:8], 16) for h in table["headline"]]
    rows = [np.random.default_rng(s).normal(size=8) for s in seeds]
    return np.array(rows, dtype=np.float32).reshape(-1, 8)


def news(extra: list[str]) -> pd.DataFrame:
    """A headline per symbol each morning and evening, varied texts, plus ``extra``."""
    rng = np.random.default_rng(5)
    frames = []
    for d, day in enumerate(DAYS):
        for h, sym in ((13, "MSFT"), (23, "TSLA"), (14, "TSLA"), (22, "MSFT")):
            text = f"{GOOD if rng.random() < 0.5 else BAD} {d} {h} {sym}"
            frames.append(items_at([(day + pd.Timedelta(hours=h)).isoformat()], text, sym))
    frames.append(items_at(extra, BAD) if extra else items.empty())
    return items.concat(frames)


def decisions(monkeypatch, panel: Panel, tab: pd.DataFrame, factor: dict) -> np.ndarray:
    """Signal directions bar by bar of the strategy on ``panel`` and headlines ``tab``."""
    monkeypatch.setattr(sentiment, "load_prepared", lambda n, s, cfg, c=None: prepare(tab, cfg))
    monkeypatch.setattr(sentiment, "embed_items", fake_embed)
    params = SentimentStrategy.Params(
        factor=factor, head=HeadConfig(refit_every=5, min_items=20), entry=0.2, long_only=False
    )
    strat = SentimentStrategy(params)
    fields = {k: np.ascontiguousarray(v) for k, v in panel.fields.items()}
    fields[PRICES] = fields["close"]
    history = History(fields, panel.timestamps)
    out = []
    for t in range(panel.n_bars):
        history.advance(t + 1)
        last = fields["close"][t]
        ctx = Context(
            t, int(panel.timestamps[t]), SYMS, history, 0 * last, 0 * last, last, 1e6, 1e6
        )
        sig = strat.on_bar(ctx)
        out.append(np.concatenate([sig.direction, strat.factor(ctx)[:, 0]]))
    return np.array(out)


@pytest.mark.parametrize("scorer", ["vader", "head"])
@pytest.mark.parametrize("lag", [0, 1])
def test_decisions_up_to_k_ignore_later_headlines_and_prices(monkeypatch, scorer, lag) -> None:
    rng = np.random.default_rng(7)
    px = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(DAYS), 2)), axis=0))
    fields = {f: px.copy() for f in ("open", "high", "low", "close")}
    panel = Panel(STAMPS, SYMS, {**fields, "volume": np.ones_like(px)})
    factor = {"scorer": scorer, "window": 10, "min_periods": 3, "lag_bars": lag}
    base = decisions(monkeypatch, panel, news([]), factor)
    assert np.isfinite(base[-10:, 2:]).all()  # a factor (and a head) at the end
    k = 40
    close = pd.Timestamp(decision_times(STAMPS[k : k + 1])[0], tz="UTC")  # 20:00 UTC (EDT)
    after = (close + pd.Timedelta("1s")).isoformat()
    moved = decisions(monkeypatch, perturb_after(panel, k), news([after] * 30), factor)
    assert np.array_equal(moved[: k + 1], base[: k + 1], equal_nan=True)
    assert not np.array_equal(moved[k + 1 :], base[k + 1 :], equal_nan=True)
