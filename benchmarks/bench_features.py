"""Feature computation speed on the S&P 500 daily dataset.

Batch: the default feature set (rolling z-scores) for all 495 symbols x 1259 bars.
Incremental: ``FeatureState.update`` for a 50-symbol cross-section, one row at a time
(per-update latency percentiles after the state is warm).

.venv/bin/python benchmarks/bench_features.py [--repeat 3] [--incremental-symbols 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.features import FeatureState, compute_features, default_feature_set

OHLCV = ("open", "high", "low", "close", "volume")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sp500_daily_2013_2018")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--incremental-symbols", type=int, default=50)
    args = ap.parse_args()
    panel = load_panel(args.dataset, dataset_symbols(args.dataset))
    cfg = default_feature_set()
    t = time.perf_counter()
    fm = compute_features(panel.select(panel.symbols[:2]), cfg)  # numba compile / cache load
    warm = time.perf_counter() - t
    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        fm = compute_features(panel, cfg)
        best = min(best, time.perf_counter() - t)
    cells = panel.n_bars * panel.n_symbols
    print(f"first call (compile or cache load): {warm:.2f} s")
    print(
        f"batch {panel.n_symbols} symbols x {panel.n_bars} bars x {len(fm.names)} features: "
        f"best of {args.repeat} {best:.3f} s ({cells / best / 1e6:.2f} M symbol-bars/s)"
    )
    sub = panel.select(panel.symbols[: args.incremental_symbols])
    st = FeatureState(cfg, sub.symbols)
    lat = np.empty(sub.n_bars)
    for i in range(sub.n_bars):
        row = {k: sub.fields[k][i] for k in OHLCV}
        t = time.perf_counter()
        st.update(row, int(sub.timestamps[i]))
        lat[i] = time.perf_counter() - t
    us = lat[300:] * 1e6  # warm state
    print(
        f"incremental update, {sub.n_symbols} symbols: median {np.median(us):.0f} us, "
        f"p99 {np.percentile(us, 99):.0f} us, max {us.max():.0f} us"
    )


if __name__ == "__main__":
    main()
