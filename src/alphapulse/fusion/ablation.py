"""Ablation of a hybrid config: each expert alone, fusion without gating, gated fusion
and buy-and-hold, on the same data and costs, scored out of sample (from ``oos_start``,
by default the first bar where the gated hybrid's detector has a regime) with stationary
bootstrap intervals of the Sharpe ratio (``analytics.bootstrap``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphapulse.analytics.bootstrap import percentile_ci, resample, sharpe_rows
from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.config import BacktestConfig, StrategyConfig
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.data.raw import utc_timestamp
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import Tables, load_data, run_backtest

COLUMNS = ["variant", "sharpe", "sharpe_lo", "sharpe_hi", "cagr", "max_dd", "turnover", "fees"]


def variants(cfg: BacktestConfig) -> list[StrategyConfig]:
    """The strategies to compare, from the config's one ``hybrid`` strategy."""
    hyb = [s for s in cfg.strategies if s.strategy == "hybrid"]
    if len(hyb) != 1:
        raise ConfigError("ablation: the config needs exactly one hybrid strategy")
    p = hyb[0].params
    out = [e if isinstance(e, StrategyConfig) else StrategyConfig(**e) for e in p["experts"]]
    flat = {k: v for k, v in p.items() if k not in ("detector", "regimes", "default")}
    names = [e.label for e in out]
    flat["default"] = p.get("default") or {"weights": dict.fromkeys(names, 1.0)}
    out.append(StrategyConfig(strategy="hybrid", name="fusion_ungated", params=flat))
    out.append(StrategyConfig(strategy="hybrid", name="fusion_gated", params=p))
    out.append(StrategyConfig(strategy="buy_and_hold", name="buy_and_hold"))
    return out


def run_ablation(
    cfg: BacktestConfig,
    panel: Panel | None = None,
    *,
    oos_start: str | None = None,
    n_boot: int = 1000,
    workers: int | None = None,
) -> pd.DataFrame:
    """One row per variant (``COLUMNS``) over the out-of-sample bars."""
    strategies = variants(cfg)
    run_cfg = cfg.model_copy(update={"strategies": strategies})
    panel = panel if panel is not None else load_data(run_cfg)
    given = None if oos_start is None else _given_start(oos_start, panel)
    tables: dict[str, Tables] = {}
    results = run_backtest(run_cfg, panel, workers=workers, tables=tables)
    start = given if given is not None else _oos_start(tables.get("fusion_gated", {}))
    rows = [_score(label, r, start, n_boot) for label, r in results.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def _given_start(text: str, panel: Panel) -> int:
    """``oos_start`` in UTC ns, checked before the runs: a date that leaves bars to score."""
    try:
        ns = int(utc_timestamp(text).value)
    except ValueError as exc:
        raise ConfigError(f"--oos-start: {exc}") from None
    if np.count_nonzero(panel.timestamps >= ns) < 2:
        last = pd.Timestamp(panel.timestamps[-1], tz="UTC").isoformat()
        raise ConfigError(f"--oos-start {text}: fewer than 2 bars from it (the data ends {last})")
    return ns


def _oos_start(gated: Tables) -> int:
    reg = gated.get("regimes")
    if reg is None or not (reg["regime"] != "warmup").any():
        return np.iinfo(np.int64).min
    return int(pd.Timestamp(reg.loc[reg["regime"] != "warmup", "timestamp"].iloc[0]).value)


def _score(label: str, r: RunResult, start: int, n_boot: int) -> list[Any]:
    """Scored from the equity before ``start`` (the initial cash at the first bar), so
    the first scored bar's return holds the fees that bar's fills paid."""
    keep = r.timestamps >= start
    first = int(np.argmax(keep)) if keep.any() else len(keep)
    base = r.equity[first - 1] if first > 0 else r.initial_cash
    eq = np.r_[base, r.equity[keep]]
    ret = np.diff(eq) / eq[:-1]
    ppy = observed_periods_per_year(pd.DatetimeIndex(pd.to_datetime(r.timestamps[keep], utc=True)))
    sharpe = float(sharpe_rows(ret[None, :], ppy)[0]) if len(ret) > 2 else np.nan
    lo, hi = percentile_ci(sharpe_rows(resample(ret, n_boot), ppy)) if len(ret) > 2 else (None,) * 2
    years = len(ret) / ppy
    cagr = (eq[-1] / eq[0]) ** (1 / years) - 1 if years > 0 and eq[0] > 0 else np.nan
    dd = float((eq / np.maximum.accumulate(eq) - 1).min())
    traded = sum(f.quantity * f.price for f in r.fills if f.ts_ns >= start)
    fees = sum(f.fee for f in r.fills if f.ts_ns >= start)
    turnover = traded / float(np.mean(eq)) / max(years, 1e-9)
    return [label, sharpe, lo, hi, cagr, dd, turnover, fees]
