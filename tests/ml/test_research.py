"""``alphapulse research`` on a small slice of the example config: the report has every
strategy, every fold and every metric, and the ML refits match the walk-forward."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.ml.cv import PurgedWalkForward
from alphapulse.ml.report import METRIC_COLUMNS
from alphapulse.ml.research import ResearchConfig, load_research_config, run_research
from alphapulse.ml.training import training_rows

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ml_research.yaml"
STRATEGIES = {"ml", "buy_and_hold", "sma_cross", "mean_reversion"}


def _small(shared_data: Path) -> dict:
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["data"].update(symbols=cfg["data"]["symbols"][:12], end="2015-09-30", root=str(shared_data))
    cfg["walk_forward"].update(n_splits=2, test_size=42)
    cfg["ml"]["model"]["params"].update(n_estimators=15, num_leaves=7)
    cfg["ml"]["min_train_rows"] = 500
    return cfg


def test_example_config_is_valid() -> None:
    cfg = load_research_config(EXAMPLE)
    assert len(cfg.data.symbols or []) == 66
    assert {b.label for b in cfg.baselines} == STRATEGIES - {"ml"}


def test_research_report(shared_data: Path, tmp_path: Path) -> None:
    cfg = ResearchConfig.model_validate(_small(shared_data))
    report = run_research(cfg, tmp_path)
    for name in ("report.html", "report.json", "metrics.csv", "drift_events.csv"):
        assert (tmp_path / name).is_file()
    for s in STRATEGIES:
        assert (tmp_path / "runs" / s / "summary.json").is_file()
    df = pd.read_csv(tmp_path / "metrics.csv")
    assert set(df["strategy"]) == STRATEGIES
    assert set(df["fold"].astype(str)) == {"0", "1", "overall"}
    assert len(df) == 3 * len(STRATEGIES)
    assert set(METRIC_COLUMNS) <= set(df.columns)
    ml = df[df["strategy"] == "ml"]
    for col in ("sharpe", "total_return", "max_drawdown", "turnover", "ic", "pred_hit_rate"):
        assert ml[col].notna().all(), col
    assert (df["fees"] > 0).any()  # costs are on
    # one refit per fold, at the bar before its test block, on the purged past only
    folds, retrains = report["folds"], report["retrains"]
    assert len(retrains) >= len(folds)
    for f, r in zip(folds, retrains, strict=False):
        assert r["max_label_end"] <= r["bar"]
        assert pd.Timestamp(r["time"]) < pd.Timestamp(f["test_start"])
    html = (tmp_path / "report.html").read_text()
    assert all(s in html for s in STRATEGIES) and "Per fold" in html
    assert json.loads((tmp_path / "report.json").read_text())["name"] == "ml_research"
    assert report["leakage"]["ok"] and report["summary"].startswith("leakage checks passed")
    assert {c["check"] for c in report["leakage"]["checks"]} == {"canary", "future_ic", "accuracy"}


def test_research_cli_and_errors(shared_data: Path, tmp_path: Path) -> None:
    cfg = _small(shared_data)
    cfg["baselines"] = [{"strategy": "buy_and_hold"}]
    cfg["walk_forward"]["n_splits"] = 1
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["research", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "buy_and_hold" in res.output and (tmp_path / "out" / "report.html").is_file()
    cfg["ml"]["retrain_every"] = 5
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="set by walk_forward"):
        load_research_config(path)


@pytest.mark.parametrize("train_size", [None, 60])
def test_sliding_refits_train_on_the_walk_forwards_window(train_size: int | None) -> None:
    """The ML strategy refitted before each test block learns from exactly the rows the
    sliding ``PurgedWalkForward`` trains on (default size: the first block's start)."""
    wf = {"n_splits": 3, "test_size": 20, "mode": "sliding", "embargo": 2, "train_size": train_size}
    cfg = ResearchConfig.model_validate(
        {"data": {"source": "x", "symbols": ["A"]}, "walk_forward": wf}
    )
    end = (np.arange(200) + 5)[:, None]  # each label realised 5 bars on
    cv = PurgedWalkForward(3, "sliding", train_size, 20, 2)
    splits = list(cv.split(200, end[:, 0]))
    window = cfg.ml_params("2020-01-01", 20, int(splits[0][1][0]))["train_window"]
    for train, test in splits:
        rows = training_rows(end, int(test[0]) - 1, train_window=window, embargo=2)
        assert np.flatnonzero(rows[:, 0]).tolist() == train.tolist()


def test_hourly_bars_are_annualised_on_the_bars_present(shared_data: Path) -> None:
    """Every row's Sharpe and volatility use the bars per year of the data (24/7 hourly:
    8,760); research used 252 whatever the bars, so hourly Sharpes were ~5.9x too low."""
    from alphapulse.analytics.frequency import observed_periods_per_year
    from alphapulse.engine.runner import load_data
    from alphapulse.ml import research

    cfg = _small(shared_data)
    cfg["baselines"] = [{"strategy": "buy_and_hold"}]
    cfg["walk_forward"]["n_splits"] = 1
    rc = ResearchConfig.model_validate(cfg)
    daily = load_data(rc.backtest(rc.baselines, False))
    hours = daily.timestamps[0] + np.arange(daily.n_bars, dtype=np.int64) * 3_600 * 10**9
    hourly = Panel(hours, daily.symbols, daily.fields)
    seen: list[float] = []
    metrics = research.window_metrics

    def spy(r: Any, start: int, stop: int, ppy: float = 252.0) -> dict[str, Any]:
        seen.append(ppy)
        return metrics(r, start, stop, ppy)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(research, "window_metrics", spy)
        run_research(rc, panel=hourly)
    ppy = observed_periods_per_year(hourly.index())  # 24 bars a day, 365 days a year
    assert 8000 < ppy <= 8760 and seen and set(seen) == {ppy}


def test_fill_at_close_counts_the_first_entry_in_the_window(
    shared_data: Path, tmp_path: Path
) -> None:
    """Under ``fill_at: close`` the first decision is on the first test bar, so its costs
    fall inside the window: buy and hold's window return is its whole run's, from the
    initial cash. Before, it decided (and paid) a bar earlier, outside the window."""
    cfg = _small(shared_data)
    cfg.update(fill_at="close", baselines=[{"strategy": "buy_and_hold"}])
    cfg["walk_forward"]["n_splits"] = 1
    rc = ResearchConfig.model_validate(cfg)
    run_research(rc, tmp_path)
    df = pd.read_csv(tmp_path / "metrics.csv")
    bh = df[(df["strategy"] == "buy_and_hold") & (df["fold"].astype(str) == "overall")].iloc[0]
    equity = pd.read_csv(tmp_path / "runs" / "buy_and_hold" / "equity.csv")["equity"]
    assert bh["fees"] > 0
    assert bh["total_return"] == pytest.approx(equity.iloc[-1] / rc.initial_cash - 1, rel=1e-12)
