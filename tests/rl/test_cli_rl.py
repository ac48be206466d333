"""``alphapulse rl``: bad configs are one clear error (exit 2); evaluation folds and table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapulse.cli import main
from alphapulse.core.errors import ConfigError
from alphapulse.rl.config import parse_rl_config
from alphapulse.rl.evaluate import fold_rows, summary_table
from alphapulse.rl.train import window_rows
from tests.rl.conftest import random_walk, rl_config


@pytest.mark.parametrize(("venue", "env"), [(False, False), (True, True)])
def test_the_short_action_is_what_the_venue_allows(venue: bool, env: bool) -> None:
    """Without ``env.allow_short`` the short action follows ``execution.allow_short``:
    before, it stayed on while the venue refused shorts, so "short" silently meant
    flat (the venue cut each short sale to the position)."""
    walk = random_walk(100, 1)
    assert rl_config(walk, 90, execution={"allow_short": venue}).env.allow_short is env


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("learn: {algo: sac}", "sac needs continuous actions"),
        ("env: {reward: sharpe}", "env.reward"),
        ("learn: {algos: ppo}", "learn.algos: unknown key"),
        ('valid_end: "2016-13-45"', "valid_end: Value error, not a date"),
        ("learn: {net_arch: [64, -4]}", "learn.net_arch.1: Input should be greater than"),
        ("env: {allow_short: true}", "env.allow_short: the venue refuses shorts"),
    ],
)
def test_bad_config_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, needle: str
) -> None:
    path = tmp_path / "rl.yaml"
    path.write_text(f'data: {{source: sp500_daily_2013_2018}}\ntrain_end: "2016-01-01"\n{body}\n')
    with pytest.raises(SystemExit) as exc:
        main(["rl", "train", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_baselines_sharing_a_name_are_a_config_error() -> None:
    """The table has one row per name: a second ``sma_cross`` (or an ``ml``, which
    evaluate adds itself) would silently replace the other."""
    base = {"data": {"source": "x"}, "train_end": "2016-01-01"}
    sma = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 50}}
    for baselines, name in [([{"strategy": "sma_cross"}, sma], "sma_cross"),
                            ([{"strategy": "ml"}], "ml")]:  # fmt: skip
        with pytest.raises(ConfigError, match=f"baselines: each needs its own name.*: {name}$"):
            parse_rl_config({**base, "evaluate": {"baselines": baselines}})
    named = [{"strategy": "sma_cross"}, {**sma, "name": "sma_fast"}]
    cfg = parse_rl_config({**base, "evaluate": {"baselines": named}})
    assert [b.label for b in cfg.evaluate.baselines] == ["sma_cross", "sma_fast"]


def test_example_config_parses() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    cfg = parse_rl_config(yaml.safe_load((root / "examples/rl_train.yaml").read_text()))
    assert len(cfg.data.symbols or []) >= 10 and cfg.learn.algo == "ppo"
    crypto = parse_rl_config(yaml.safe_load((root / "examples/rl_crypto_1h.yaml").read_text()))
    guards = crypto.risk.guards if crypto.risk is not None else None
    assert crypto.data.source == "crypto_binance_1h" and guards is not None
    assert guards.daily_loss_limit is None and guards.max_drawdown is None


def test_walk_forward_folds_are_disjoint_and_ordered() -> None:
    cfg = parse_rl_config(
        {"data": {"source": "x"}, "train_end": "2016-01-01",
         "evaluate": {"folds": 3, "train_bars": 100, "valid_bars": 20, "test_bars": 30}}
    )  # fmt: skip
    folds = fold_rows(400, cfg)
    assert folds[-1][2][1] == 400
    for (tr, va, te), nxt in zip(folds, [*folds[1:], None], strict=True):
        assert tr[1] == va[0] and va[1] == te[0] and tr[1] - tr[0] == 100
        if nxt is not None:
            assert nxt[2][0] == te[1]
    with pytest.raises(ConfigError, match="need 210 bars; the data has 200"):
        fold_rows(200, cfg)


def test_summary_table_reports_intervals() -> None:
    rng = np.random.default_rng(0)
    series = {"a": rng.normal(0.001, 0.01, 300), "b": np.zeros(300)}
    table = summary_table(series, 252.0, 200, 4).set_index("strategy")
    a = table.loc["a"]
    assert a["sharpe_lo95"] < a["sharpe"] < a["sharpe_hi95"]
    assert table.loc["b", "total_return"] == 0.0 and (table["configs_tried"] == 4).all()


def test_training_window_shorter_than_the_warmup_is_a_config_error() -> None:
    """Checked before training: a window must hold ``env.warmup_bars`` + 2 bars."""
    cfg = parse_rl_config(
        {"data": {"source": "x"}, "train_end": "2016-01-01",
         "evaluate": {"folds": 2, "train_bars": 50, "valid_bars": 20, "test_bars": 30}}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"evaluate\.train_bars 50: env\.warmup_bars 63 needs"):
        fold_rows(400, cfg)
    panel = random_walk(120, 1)
    cfg = rl_config(panel, 80, env={"warmup_bars": 80})
    with pytest.raises(
        ConfigError, match=r": 81 bars up to it, env.warmup_bars 80 needs at least 82"
    ):
        window_rows(panel, cfg)
    assert window_rows(panel, rl_config(panel, 81, env={"warmup_bars": 80}))[0] == (0, 82)
