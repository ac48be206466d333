"""Risk-stage A/B: run 44 risk configurations (default, VaR window, benchmark symbol,
kill switch, daily loss, stops, trailing stops, stale data, tight limits, auto-disable,
vol targeting, shorts) on real data (S&P 500 daily, ETFs 2007-2010, SPY 1-min stitched,
S&P 500 with 8% of bars removed) and pickle equity, fills, orders, risk events and
measure columns; ``--compare A B`` reports the cases whose outputs differ in any bit.

    git archive <commit> | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python benchmarks/risk_ab.py /tmp/old.pkl
    .venv/bin/python benchmarks/risk_ab.py /tmp/new.pkl
    .venv/bin/python benchmarks/risk_ab.py --compare /tmp/old.pkl /tmp/new.pkl
"""

import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # tests' strategies, bench_engine_long

import bench_engine_long as b  # noqa: E402
import numpy as np  # noqa: E402

import alphapulse  # noqa: E402
from alphapulse.config import parse_config  # noqa: E402
from alphapulse.data.catalog import load_panel  # noqa: E402
from alphapulse.data.panel import Panel  # noqa: E402
from alphapulse.engine.runner import run_strategy  # noqa: E402


def _load(path: str) -> dict:
    with open(path, "rb") as f:
        return pickle.load(f)


if sys.argv[1] == "--compare":
    a, c = _load(sys.argv[2]), _load(sys.argv[3])
    bad = [k for k in a if a[k] != c.get(k)]
    for k in bad:
        print("DIFF", k)
    print(f"{len(a)} cases, {len(bad)} differ")
    sys.exit(1 if bad else 0)

print("alphapulse from", alphapulse.__file__, file=sys.stderr)

SP6 = ["AAPL", "MSFT", "XOM", "JPM", "KO", "CVX"]
sp6 = load_panel("sp500_daily_2013_2018", SP6)
etf = load_panel(
    "us_daily_long_1962_2017", ["SPY", "QQQ", "IWM", "XLF"], start="2007-01-01", end="2010-12-31"
)
spy = b.stitched_panel(40000)
_rng = np.random.default_rng(5)
_f = {k: v.copy() for k, v in sp6.fields.items()}
_gap = _rng.random(_f["close"].shape) < 0.08
_gap[:3] = False
for _k in _f:
    _f[_k][_gap] = np.nan
gappy = Panel(sp6.timestamps, sp6.symbols, _f)

RANDOM = "tests.engine.strategies_for_tests:RandomSignals"
NOG = {
    "daily_loss_limit": None,
    "max_drawdown": None,
    "intraday_loss_limit": None,
    "stale_data": None,
    "error_burst": None,
}
risks = {
    "default": {},
    "var_window": {"measures": {"window": 60, "min_periods": 5}},
    "bench_sym": {"measures": {"benchmark": "FIRST"}},
    "killswitch": {"guards": {"max_drawdown": 0.05}},
    "daily_loss": {"guards": {"daily_loss_limit": 0.005, "intraday_loss_limit": 0.004}},
    "stops": {
        "stops": {
            "stop_loss": {"method": "pct", "value": 0.02},
            "take_profit": {"method": "atr", "value": 3},
            "cooldown_bars": 3,
        }
    },
    "trailing": {"stops": {"stop_loss": {"method": "atr", "value": 2}, "trailing": True}},
    "stale_flat": {"guards": {"stale_data": {"bars": 1, "action": "flatten"}}},
    "tight_limits": {
        "limits": {
            "max_position_pct": 0.05,
            "max_group_pct": 0.1,
            "max_gross_leverage": 0.5,
            "max_net_leverage": 0.3,
            "max_participation": 0.01,
            "cash_buffer": 0.01,
        }
    },
    "auto_disable": {
        "guards": {
            "auto_disable": {
                "max_drawdown": 0.08,
                "underperformance": 0.02,
                "window": 20,
                "patience": 5,
            }
        }
    },
    "no_measures": {"measures": {"enabled": False}},
    "no_guards": {"guards": NOG},
}


def digest(r):
    return {
        "equity": r.equity.tobytes(),
        "cash": r.cash.tobytes(),
        "gross": r.gross_exposure.tobytes(),
        "fills": [
            (f.order_id, f.sid, int(f.side), f.quantity, f.price, f.ts_ns, f.tag) for f in r.fills
        ],
        "orders": [
            (
                o.id,
                o.sid,
                int(o.side),
                o.quantity,
                o.notional,
                str(o.status),
                o.reason,
                o.stop_loss,
                o.take_profit,
                o.stop_price,
            )
            for o in r.orders
        ],
        "events": [repr(e) for e in r.risk_events],
        "extra": {k: v.tobytes() for k, v in sorted(r.extra.items())},
        "final": r.final_positions.tobytes(),
    }


out = {}


def base(panel, source, strat, params, risk, **kw):
    raw = {
        "data": {"source": source, "symbols": list(panel.symbols)},
        "initial_cash": 1_000_000.0,
        "execution": {
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 2},
        },
        "strategies": [{"strategy": strat, "params": params}],
    }
    if risk is not None:
        risk = dict(risk)
        if "measures" in risk and risk["measures"].get("benchmark") == "FIRST":
            risk["measures"] = {"benchmark": panel.symbols[-1]}
        raw["risk"] = risk
    raw.update(kw)
    return parse_config(raw)


cases = []
for name, rk in risks.items():
    cases.append(
        (
            "sp6_random_" + name,
            sp6,
            "sp500_daily_2013_2018",
            RANDOM,
            {"seed": 7, "p_trade": 0.3},
            rk,
            {},
        )
    )
    cases.append(
        (
            "etf_sma_" + name,
            etf,
            "us_daily_long_1962_2017",
            "sma_cross",
            {"fast": 5, "slow": 20},
            rk,
            {},
        )
    )
    cases.append(
        (
            "spy_sma_" + name,
            spy,
            "spy_1min_2011_ninjatrader",
            "sma_cross",
            {"fast": 10, "slow": 30},
            rk,
            {},
        )
    )
for name in ("default", "stale_flat", "trailing", "tight_limits", "killswitch"):
    cases.append(
        (
            "gappy_random_" + name,
            gappy,
            "sp500_daily_2013_2018",
            RANDOM,
            {"seed": 3, "p_trade": 0.4},
            risks[name],
            {},
        )
    )
cases.append(
    (
        "gappy_stale_block",
        gappy,
        "sp500_daily_2013_2018",
        RANDOM,
        {"seed": 4, "p_trade": 0.4},
        {"guards": {"stale_data": {"bars": 2}}},
        {},
    )
)
cases.append(
    (
        "sp6_voltarget_default",
        sp6,
        "sp500_daily_2013_2018",
        "buy_and_hold",
        {},
        {},
        {
            "portfolio": {
                "method": "vol_target",
                "target_vol": 0.1,
                "lookback": 60,
                "max_weight": 0.3,
                "rebalance": {"every": 5, "drift_threshold": 0.001},
            }
        },
    )
)
cases.append(
    (
        "sp6_random_short",
        sp6,
        "sp500_daily_2013_2018",
        RANDOM,
        {"seed": 11, "p_trade": 0.5},
        {"stops": {"stop_loss": {"method": "pct", "value": 0.03}, "trailing": True}},
        {"execution": {"allow_short": True}},
    )
)
only = sys.argv[2:]
for name, panel, src, strat, params, rk, kw in cases:
    if only and not any(o in name for o in only):
        continue
    try:
        cfg = base(panel, src, strat, params, rk, **kw)
        r = run_strategy(cfg, cfg.strategies[0], panel)
        out[name] = digest(r)
        print(name, len(r.fills), len(r.risk_events), file=sys.stderr)
    except Exception as e:
        out[name] = "ERR " + repr(e)
        print(name, "ERR", repr(e), file=sys.stderr)
with open(sys.argv[1], "wb") as f:
    pickle.dump(out, f)
