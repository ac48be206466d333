"""Full purged walk-forward of the LightGBM ML strategy on every symbol of
sp500_daily_2013_2018 (495), against buy-and-hold, SMA crossover and mean reversion,
out of sample and after costs, through the engine.

    .venv/bin/python benchmarks/bench_ml_walkforward.py                 # all 495 symbols
    .venv/bin/python benchmarks/bench_ml_walkforward.py --symbols 100 --out runs/bench_ml

Settings are those of ``examples/ml_research.yaml`` (expanding window, 5 folds of 126
bars, refit at each fold, 5-day next-open labels demeaned cross-sectionally, a
LightGBM classifier, the top 20% by score held long, confidence-weighted, max 5% a
name); prints the wall time of each stage and the overall and per-fold OOS table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.ml.research import ResearchConfig, run_research

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ml_research.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=0, help="first N symbols (0: all)")
    ap.add_argument("--out", type=Path, default=None, help="report folder (default: temp)")
    args = ap.parse_args()
    raw = yaml.safe_load(EXAMPLE.read_text())
    symbols = dataset_symbols("sp500_daily_2013_2018")
    if args.symbols:
        symbols = symbols[: args.symbols]
    raw["data"]["symbols"] = symbols
    raw["name"] = "bench_ml_walkforward"
    raw["portfolio"] = {"method": "confidence", "max_weight": 0.05}
    raw["ml"]["min_train_rows"] = 20_000
    cfg = ResearchConfig.model_validate(raw)
    t0 = time.perf_counter()
    panel = load_panel("sp500_daily_2013_2018", symbols)
    t_load = time.perf_counter() - t0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_ml_"))
    report = run_research(cfg, out, panel)
    total = time.perf_counter() - t0
    print(f"{panel.n_bars} bars; {report['summary']}")
    print(
        f"load {t_load:.1f} s; ML walk-forward in the engine {report['seconds']['ml']:.1f} s "
        f"({len(report['retrains'])} refits, rows {report['retrains'][0]['rows']:,} .. "
        f"{report['retrains'][-1]['rows']:,}); all {total:.1f} s"
    )
    df = pd.DataFrame(report["metrics"])
    cols = ["fold", "strategy", "sharpe", "total_return", "max_drawdown", "turnover",
            "hit_rate", "ic", "pred_hit_rate", "fees"]  # fmt: skip
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df[df["fold"] == "overall"][cols].to_string(index=False, float_format="%.4f"))
        print(df[df["fold"] != "overall"][cols].to_string(index=False, float_format="%.4f"))
    print(f"drift events: {len(report['drift_events'])}; report: {out / 'report.html'}")


if __name__ == "__main__":
    main()
