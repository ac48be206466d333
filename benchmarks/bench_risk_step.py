"""CPU µs/step (best of 3) of the default risk stage and of a do-nothing risk stage that
is not the pass-through one (the floor the engine loop sets for any risk stage), SPY
1-min stitched, sma_cross 10/30. For an A/B: ``TAG=old PYTHONPATH=/tmp/old/src``.

    .venv/bin/python benchmarks/bench_risk_step.py [bars, default 30000]
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_engine_long as b

from alphapulse.engine import runner
from alphapulse.engine.runner import run_strategy
from alphapulse.engine.stages import GuardAction, PassThroughRisk


class Floor(PassThroughRisk):
    _g = GuardAction()

    def on_bar(self, bar, ctx):
        return self._g


n = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
panel = b.stitched_panel(n)
cfg = b.config(True)
real = runner.build_risk


def best(k=3):
    out = float("inf")
    for _ in range(k):
        t = time.process_time()
        r = run_strategy(cfg, cfg.strategies[0], panel)
        out = min(out, time.process_time() - t)
    return out / n * 1e6, len(r.fills)


run_strategy(cfg, cfg.strategies[0], panel)
d = best()
runner.build_risk = lambda *a, **k: Floor()
run_strategy(cfg, cfg.strategies[0], panel)
f = best()
tag, load = os.environ.get("TAG", "?"), os.getloadavg()[0]
print(
    f"{tag}: default risk {d[0]:.2f} us/step ({d[1]} fills), do-nothing risk stage "
    f"{f[0]:.2f} us/step, risk cost {d[0] - f[0]:.2f}; load {load:.2f}"
)
