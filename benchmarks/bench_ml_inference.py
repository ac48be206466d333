"""LightGBM inference latency for one cross-section: p50 / p99 over repeated calls.

    .venv/bin/python benchmarks/bench_ml_inference.py [--trees 200] [--features 20]
        [--symbols 50] [--calls 2000]

A binary ``LGBMClassifierModel`` (``num_leaves`` 31, no early stopping) is trained on
synthetic data; each call scores one cross-section of ``--symbols`` rows (fresh data,
5% NaN) through the booster's fast path (``Booster.predict`` with ``num_threads=1``), the
model's ``predict_proba`` and ``predict_with_uncertainty``. Target: p99 < 1 ms.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from alphapulse.ml.models import LGBMClassifierModel


def percentiles(fn, xs: list[np.ndarray]) -> tuple[float, float, float]:
    """(p50, p99, max) in milliseconds of ``fn(x)`` over ``xs`` (after 50 warm-up calls)."""
    for x in xs[:50]:
        fn(x)
    times = np.empty(len(xs))
    for i, x in enumerate(xs):
        t0 = time.perf_counter_ns()
        fn(x)
        times[i] = time.perf_counter_ns() - t0
    ms = times / 1e6
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=20_000, help="training rows")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, args.features))
    y = np.sign(X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + rng.normal(size=args.rows))
    t0 = time.perf_counter()
    model = LGBMClassifierModel(n_estimators=args.trees, early_stopping_rounds=0, num_threads=1)
    model.fit(X, y)
    booster = model.boosters[0]
    print(
        f"trained {booster.num_trees()} trees x {args.features} features on {args.rows} rows "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    xs = [rng.normal(size=(args.symbols, args.features)) for _ in range(args.calls)]
    for x in xs:
        x[rng.random(x.shape) < 0.05] = np.nan

    cases = {
        "Booster.predict(num_threads=1)": lambda x: booster.predict(x, num_threads=1),
        "model.predict_proba": model.predict_proba,
        "model.predict_with_uncertainty": model.predict_with_uncertainty,
    }
    print(f"{args.calls} calls x {args.symbols} symbols; milliseconds per call")
    worst = 0.0
    for name, fn in cases.items():
        p50, p99, mx = percentiles(fn, xs)
        worst = max(worst, p99)
        print(f"  {name:34s} p50 {p50:.3f}  p99 {p99:.3f}  max {mx:.3f}")
    print(f"p99 target < 1 ms: {'met' if worst < 1.0 else 'MISSED'} (worst p99 {worst:.3f} ms)")


if __name__ == "__main__":
    main()
