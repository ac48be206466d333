"""Adversarial properties of TradingEnv: no look-ahead under any perturbation of later
bars, rewards recomputed from the fills, costs always on, independent resets, episode
ends and missing bars, the action space's edges."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.data.panel import Panel
from alphapulse.ml.leakage import PERTURBATIONS, perturb_after
from alphapulse.rl.config import RLConfig
from alphapulse.rl.env import TradingEnv
from tests.rl.conftest import random_walk, rl_config
from tests.rl.test_env import make_env

FEW = settings(max_examples=30, deadline=None)
FREE = {"commission": {"model": "none"}, "slippage": {"model": "none"}}


def config(panel: Panel, *, action: str = "discrete", short: bool = True, **over: Any) -> RLConfig:
    """A whole-panel config (no warmup) whose env may short when ``short``."""
    env = {"warmup_bars": 0, "action": action, "allow_short": short, **over.pop("env", {})}
    execution = {"allow_short": short, **over.pop("execution", {})}
    return rl_config(panel, panel.n_bars - 1, env=env, execution=execution, **over)


def scripted(env: TradingEnv, seed: int, n: int) -> list[Any]:
    """``n`` actions drawn from the env's action space by a seeded generator."""
    space = env.action_space
    space.seed(seed)
    return [space.sample() for _ in range(n)]


def play(env: TradingEnv, actions: list[Any], seed: int = 0) -> tuple[list[Any], ...]:
    """(observations before each decision, rewards, (terminated, truncated), infos)."""
    obs, _ = env.reset(seed=seed)
    seen, rewards, flags, infos = [obs], [], [], []
    for a in actions:
        obs, r, terminated, truncated, info = env.step(a)
        seen.append(obs)
        rewards.append(r)
        flags.append((terminated, truncated))
        infos.append(info)
        if terminated or truncated:
            break
    return seen, rewards, flags, infos


@FEW
@given(
    n=st.integers(1, 2),
    cutoff=st.integers(3, 45),
    how=st.sampled_from(PERTURBATIONS),
    fill_at=st.sampled_from(["next_open", "close"]),
    action=st.sampled_from(["discrete", "continuous"]),
    risk=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_nothing_before_a_bar_depends_on_later_bars(
    n: int, cutoff: int, how: Any, fill_at: str, action: str, risk: bool, seed: int
) -> None:
    """Every observation a decision at bar t <= cutoff sees, and every reward and info
    up to bar cutoff, is the same whatever the bars after cutoff are (scaled, removed,
    spiked or cut off)."""
    panel = random_walk(50, n, seed=seed)
    other = perturb_after(panel, cutoff, seed=seed, how=how)
    over: dict[str, Any] = {"fill_at": fill_at, "risk": {} if risk else None}
    runs = []
    for p in (panel, other):
        env = make_env(p, config(p, action=action, **over), fixed_start=True)
        runs.append(play(env, scripted(env, seed, cutoff + 1)))
    (obs_a, rew_a, _, inf_a), (obs_b, rew_b, _, inf_b) = runs
    for t in range(cutoff + 1):  # obs[t]: what the decision at bar t sees
        assert np.array_equal(obs_a[t], obs_b[t]), t
    assert rew_a == rew_b and inf_a == inf_b


def ledger_equity(env: TradingEnv, start: int, stop: int) -> np.ndarray:
    """Equity at each bar's close in [start, stop), rebuilt from the engine's fills and
    the panel's closes (the last known close per symbol), not from the ledger."""
    assert env.engine is not None
    close = env.panel.fields["close"]
    qty = np.zeros(env.panel.n_symbols)
    last = np.full(env.panel.n_symbols, np.nan)
    cash = env.backtest.initial_cash
    fills = sorted(env.engine.fills, key=lambda f: f.bar_index)
    out, k = [], 0
    for t in range(start, stop):
        while k < len(fills) and fills[k].bar_index == t:
            f = fills[k]
            qty[f.sid] += f.signed_qty
            cash -= f.signed_qty * f.price + f.fee
            k += 1
        last = np.where(np.isnan(close[t]), last, close[t])
        out.append(cash + float(np.where(qty != 0, qty * last, 0.0).sum()))
    assert k == len(fills)
    return np.asarray(out)


def expected_rewards(cfg: RLConfig, equity: np.ndarray) -> np.ndarray:
    """The documented reward per step from the equity path (``docs/rl.md``)."""
    e = cfg.env
    prev = np.concatenate(([cfg.initial_cash], equity[:-1]))
    if e.reward == "dsr":
        r, a, b, out = (equity - prev) / prev, 0.0, 0.0, []
        for x in r:  # Moody and Saffell: D = (B dA - A dB / 2) / (B - A^2)^1.5
            var = b - a**2
            out.append((b * (x - a) - a * (x * x - b) / 2) / var**1.5 if var > 1e-12 else 0.0)
            a, b = a + e.dsr_eta * (x - a), b + e.dsr_eta * (x * x - b)
        return e.reward_scale * np.asarray(out)
    peak = np.maximum.accumulate(np.concatenate(([cfg.initial_cash], equity)))[1:]
    dd = (peak - equity) / cfg.initial_cash if e.reward == "drawdown" else 0.0
    return e.reward_scale * ((equity - prev) / cfg.initial_cash - e.drawdown_penalty * dd)


@FEW
@given(
    reward=st.sampled_from(["pnl", "drawdown", "dsr"]),
    lam=st.floats(0.0, 3.0),
    fill_at=st.sampled_from(["next_open", "close"]),
    seed=st.integers(0, 1000),
)
def test_reward_is_the_documented_quantity_from_the_fills(
    reward: str, lam: float, fill_at: str, seed: int
) -> None:
    """Rewards equal the documented formula applied to the equity rebuilt from the
    fills; each fill paid the configured slippage (2 bp off the bar's open, or its close
    under ``fill_at: close``) and 5 bp commission."""
    panel = random_walk(40, 2, seed=seed)
    cfg = config(panel, env={"reward": reward, "drawdown_penalty": lam}, fill_at=fill_at)
    env = make_env(panel, cfg, fixed_start=True)
    _, rewards, _, infos = play(env, scripted(env, seed, 40))
    equity = ledger_equity(env, 0, len(rewards))
    np.testing.assert_allclose([i["equity"] for i in infos], equity, rtol=1e-12)
    np.testing.assert_allclose(rewards, expected_rewards(cfg, equity), rtol=1e-9, atol=1e-12)
    ref = panel.fields["close" if fill_at == "close" else "open"]
    assert env.engine is not None
    for f in env.engine.fills:
        assert f.price == pytest.approx(ref[f.bar_index, f.sid] * (1 + 2e-4 * f.side))
        assert f.fee == pytest.approx(5e-4 * f.quantity * f.price)


@FEW
@given(seed=st.integers(0, 1000), action=st.sampled_from(["discrete", "continuous"]))
def test_costs_lower_the_reward_whenever_a_trade_happens(seed: int, action: str) -> None:
    """The same actions with and without costs: with trades, costs earn strictly less."""
    panel = random_walk(40, 2, seed=seed)
    totals, traded = [], []
    for execution in ({}, FREE):
        env = make_env(panel, config(panel, action=action, execution=execution))
        _, rewards, _, _ = play(env, scripted(env, seed, 40), seed=seed)
        assert env.engine is not None
        totals.append(sum(rewards))
        traded.append(bool(env.engine.fills))
    assert traded[0] == traded[1]
    if traded[0]:
        assert totals[0] < totals[1]


@FEW
@given(
    seed=st.integers(0, 1000),
    before=st.integers(0, 30),
    fill_at=st.sampled_from(["next_open", "close"]),
)
def test_reset_starts_an_independent_episode(seed: int, before: int, fill_at: str) -> None:
    """A reset after a partial episode (positions, working orders, risk state) replays
    bit for bit what a fresh environment does with the same seed and actions."""
    panel = random_walk(80, 2, seed=seed)
    cfg = config(panel, env={"episode_bars": 20, "reward": "dsr"}, fill_at=fill_at, risk={})
    fresh, used = make_env(panel, cfg), make_env(panel, cfg)
    acts = scripted(fresh, seed, 20)
    play(used, scripted(used, seed + 1, before), seed=seed + 1)
    a, b = play(fresh, acts, seed=seed), play(used, acts, seed=seed)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert a[1:] == b[1:]


@FEW
@given(
    seed=st.integers(0, 1000),
    length=st.integers(2, 12),
    holes=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 1)), max_size=15),
    late=st.integers(0, 35),
    reward=st.sampled_from(["pnl", "drawdown", "dsr"]),
)
def test_episode_ends_and_missing_bars(
    seed: int, length: int, holes: list[tuple[int, int]], late: int, reward: str
) -> None:
    """Missing bars and a symbol that starts late give finite observations inside the
    observation space and finite rewards; an episode of ``episode_bars`` is truncated
    (not terminated) at its last step and only there."""
    panel = random_walk(40, 2, seed=seed)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    for v in fields.values():
        v[:late, 1] = np.nan
        for t, i in holes:
            v[t, i] = np.nan
    gappy = Panel(panel.timestamps, panel.symbols, fields)
    cfg = config(gappy, env={"episode_bars": length, "reward": reward, "drawdown_penalty": 1})
    env = make_env(gappy, cfg)
    seen, rewards, flags, infos = play(env, scripted(env, seed, length + 5), seed=seed)
    assert flags == [(False, False)] * (length - 1) + [(False, True)]
    assert all(env.observation_space.contains(o) for o in seen)
    assert np.isfinite(rewards).all() and np.isfinite([i["equity"] for i in infos]).all()


@pytest.mark.parametrize("action", ["discrete", "continuous"])
@pytest.mark.parametrize("short", [False, True])
def test_extreme_actions_respect_shorting_and_the_risk_limits(action: str, short: bool) -> None:
    """All long, all short and alternating ends of the action space: no short position
    unless ``env.allow_short`` (the venue would take one), no position or gross exposure
    past the risk limits."""
    panel = random_walk(60, 3, seed=4)
    limits = {"max_position_pct": 0.2, "max_gross_leverage": 0.5, "max_net_leverage": 0.5}
    cfg = config(panel, action=action, short=short, execution={"allow_short": True},
                 risk={"limits": limits})  # fmt: skip
    env = make_env(panel, cfg, fixed_start=True)
    space = env.action_space
    low, high = (
        (space.low, space.high) if action == "continuous" else (0 * space.nvec, space.nvec - 1)
    )
    env.reset(seed=0)
    for t in range(59):
        a = (low, high, np.where(np.arange(3) % 2 == t % 2, low, high))[t % 3]
        env.step(a)
        lg = env.engine.ledger  # type: ignore[union-attr]
        w = lg.qty * lg.last_price / lg.equity
        assert short or (lg.qty >= 0).all(), t
        assert np.abs(w).max() <= 0.2 * 1.05 and np.abs(w).sum() <= 0.5 * 1.05, t


@pytest.mark.parametrize(
    ("action", "bad"),
    [
        ("discrete", [5, 2]),
        ("discrete", [-1, 1]),
        ("discrete", [1.5, 2]),
        ("continuous", [np.nan, 0.5]),
        ("continuous", [0.5]),
    ],
)
def test_an_action_outside_the_space_is_refused(walk: Panel, action: str, bad: list[float]) -> None:
    """A discrete action other than 0, 1, 2 (5 asked for 4 slots long, -1 for 2 short), a
    NaN weight (it kept the position) and too few values are errors naming the action."""
    env = make_env(walk, config(walk, action=action))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.array(bad))
