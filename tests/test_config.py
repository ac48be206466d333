"""Config validation: wrong keys or values give a ConfigError naming them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from alphapulse.config import load_config, parse_config
from alphapulse.core.errors import ConfigError

BASE = {
    "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
    "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
}


def _with(**changes: object) -> dict:
    cfg = {**BASE, **changes}
    return cfg


def test_valid_config_loads() -> None:
    cfg = parse_config(BASE)
    assert cfg.strategies[0].label == "sma_cross"
    assert cfg.execution.commission.model == "percent"  # costs are on by default


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        (_with(inital_cash=5), "inital_cash: unknown key"),
        (_with(initial_cash=-1), "initial_cash"),
        (_with(fill_at="tomorrow"), "fill_at"),
        (_with(strategies=[{"strategy": "nope"}]), "unknown strategy 'nope'"),
        (
            _with(strategies=[{"strategy": "sma_cross", "params": {"fsat": 3}}]),
            "params.fsat: unknown key",
        ),
        (
            _with(strategies=[{"strategy": "sma_cross", "params": {"fast": "x"}}]),
            "params.fast",
        ),
        (_with(execution={"commission": {"model": "percent", "rate": -1}}), "commission"),
        (_with(execution={"slipage": {}}), "execution.slipage: unknown key"),
        (
            _with(strategies=[{"strategy": "sma_cross"}, {"strategy": "sma_cross"}]),
            "repeated: sma_cross",
        ),
        (_with(strategies=[]), "strategies"),
        (_with(strategies=[{"strategy": ".x:Y"}]), "'.x:Y' cannot be imported"),
        (_with(strategies=[{"strategy": ":Y"}]), "':Y' cannot be imported"),
        (_with(data={**BASE["data"], "session_tz": "Not/AZone"}), "data.session_tz: Value"),
    ],
)
def test_bad_config_names_the_key(cfg: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(cfg, "run.yaml")
    assert needle in str(exc.value)
    assert "run.yaml" in str(exc.value)


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(top)


def test_unquoted_dates_are_the_strings_written(tmp_path: Path) -> None:
    """YAML reads ``2015-01-01`` as a date object: a config's date fields got "Input
    should be a valid string", and ``2015-13-01`` a parser traceback."""
    run = tmp_path / "run.yaml"
    body = "name: x\nstrategies: [{{strategy: buy_and_hold}}]\n"
    body += "data: {{source: sp500_daily_2013_2018, start: {}, end: 2015-02-01}}\n"
    run.write_text(body.format("2015-01-01 09:30:00"))
    data = load_config(run).data
    assert (data.start, data.end) == ("2015-01-01 09:30:00", "2015-02-01")
    run.write_text(body.format("2015-13-01"))
    with pytest.raises(ConfigError, match=r"data\.start: .*not a date.*'2015-13-01'"):
        load_config(run)


def _strategy(name: str, **params: object) -> dict:
    return _with(strategies=[{"strategy": name, "params": params}])


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        (_strategy("sma_cross", fast=30, slow=20), "fast (30) must be below slow (20)"),
        (_strategy("sma_cross", fast=20, slow=20), "fast (20) must be below slow (20)"),
        (_strategy("sma_cross", fast=0, slow=20), "params.fast"),
        (_strategy("sma_cross", fast=-5, slow=20), "params.fast"),
        (_strategy("mean_reversion", window=1), "params.window"),
        (_strategy("mean_reversion", entry_z=1.0, exit_z=1.5), "exit_z (1.5) must be below"),
        (_strategy("mean_reversion", entry_z=0), "params.entry_z"),
        (_strategy("momentum", lookback=0), "params.lookback"),
        (_strategy("momentum", rebalance_every=0), "params.rebalance_every"),
        (_strategy("momentum", threshold=-1.5), "params.threshold"),
        (_strategy("ml", start="not a date"), "not a date"),
        (_with(initial_cash=float("inf")), "initial_cash"),
        (
            _with(initial_cash=2**70),
            "initial_cash: Input should be less than or equal to 1000000000000",
        ),
        (_with(data={"source": "x", "start": "2999-01-01"}), "data.start"),
        (_with(data={"source": "x", "end": "someday"}), "data.end"),
    ],
)
def test_impossible_values_are_refused_by_name(cfg: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse_config(cfg)


def test_possible_strategy_params_still_load() -> None:
    cases: list[tuple[str, dict[str, object]]] = [
        ("sma_cross", {"fast": 1, "slow": 2}),
        ("mean_reversion", {"window": 2, "entry_z": 1.0, "exit_z": -0.5}),
        ("momentum", {"lookback": 1, "rebalance_every": 1, "threshold": -0.5}),
    ]
    for name, params in cases:
        assert parse_config(_strategy(name, **params)).strategies[0].params == params


BIG = 2**63  # one past the largest 64-bit whole number


@pytest.mark.parametrize(
    ("cfg", "needle"),
    [
        (_strategy("sma_cross", fast=5, slow=BIG), "params.slow: a whole number beyond 64 bits"),
        (_strategy("sma_cross", fast=5, slow=str(10**30)), "params.slow: a whole number beyond"),
        (
            _with(risk={"guards": {"error_burst": {"count": BIG}}}),
            "risk.guards.error_burst.count: a whole number beyond",
        ),
        (_with(name="run\x00x"), "name: text may not hold a NUL character"),
        (_with(data={**BASE["data"], "symbols": ["AAPL\x00"]}), "data.symbols.0: text may not"),
        (
            _strategy("ml", model={"kind": "ridge", "params": {"alpha\x00": 1}}),
            "params.model.params: a key may not hold a NUL character",
        ),
    ],
    ids=["int_param", "int_text", "int_section", "nul", "nul_list", "nul_key"],
)
def test_values_a_run_cannot_hold_are_refused_by_name(cfg: dict, needle: str) -> None:
    """A whole number beyond 64 bits passed validation and broke the run with a numba
    typing error or ``Maximum allowed dimension exceeded`` (a traceback from the CLI); a
    NUL character made PostgreSQL refuse the run's record after the run (the API said
    ``503 database unavailable``)."""
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse_config(cfg)


def test_a_repeated_symbol_is_refused_by_name() -> None:
    """``symbols: [AAPL, MSFT, AAPL]`` ran as two symbols ("1 strategies, 1 symbols" for
    ``[AAPL, AAPL]``): the repeat was dropped without a word."""
    with pytest.raises(ConfigError) as err:
        parse_config(_with(data={**BASE["data"], "symbols": ["AAPL", "MSFT", "AAPL"]}))
    assert re.search(r"data\.symbols: .*'AAPL' listed twice", str(err.value))


_COMMAND_CONFIGS = {
    "train": (["train"], {"name": "m", "model": {"kind": "logistic"}, "train_end": "2015-06-30"}),
    "research": (["research"], {}),
    "rl": (["rl", "evaluate"], {"train_end": "2015-06-30"}),
}


@pytest.mark.parametrize(
    ("command", "change", "needle"),
    [
        ("train", {"label": {"horizon": BIG}}, "label.horizon: a whole number beyond 64 bits"),
        ("train", {"data": {"source": "x\x00"}}, "data.source: text may not hold a NUL"),
        ("research", {"walk_forward": {"embargo": BIG}}, "walk_forward.embargo: a whole number"),
        ("research", {"name": "r\x00"}, "name: text may not hold a NUL"),
        ("rl", {"learn": {"seed": BIG}}, "learn.seed: a whole number beyond 64 bits"),
        ("rl", {"policy": {"root": "r\x00"}}, "policy.root: text may not hold a NUL"),
        ("anomalies", {"pattern": {"seed": -BIG - 1}}, "pattern.seed: a whole number beyond"),
        ("anomalies", {"alerts": {"webhook": {"url": "https://h\x00"}}}, "webhook.url: text"),
    ],
)
def test_each_command_config_refuses_what_a_run_cannot_hold(
    command: str, change: dict, needle: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``config.unstorable`` held for backtest configs only: the train, research, rl and
    anomalies scan configs took a NUL or a whole number beyond 64 bits on to the run."""
    from tests.cli_run import run

    monkeypatch.chdir(tmp_path)  # a command that gets further writes its files here
    cfg = tmp_path / "c.yaml"
    if command == "anomalies":
        args = ["anomalies", "scan", "x", "--out", "o.csv", "--config", str(cfg)]
        cfg.write_text(yaml.safe_dump(change))
    else:
        argv, extra = _COMMAND_CONFIGS[command]
        args = [*argv, str(cfg)]
        cfg.write_text(yaml.safe_dump({"data": {"source": "x"}, **extra, **change}))
    rc, err = run(args)
    assert rc == 2 and f"{cfg}: " in err and needle in err, err


def test_the_64_bit_extremes_load() -> None:
    cfg = parse_config(_strategy("momentum", lookback=BIG - 1, threshold=-0.5))
    assert cfg.strategies[0].params["lookback"] == BIG - 1


NEWS = {"data": {"source": "news_headlines_2021_2022", "symbols": ["MSFT"]}}


def _sentiment(lag: int | None) -> dict[str, Any]:
    factor = {} if lag is None else {"factor": {"lag_bars": lag}}
    return {"strategy": "sentiment", "name": "news", "params": factor}


def _hybrid(lag: int | None) -> dict[str, Any]:
    return {
        "strategy": "hybrid",
        "params": {"experts": [{"strategy": "sma_cross"}, _sentiment(lag)]},
    }


def _ml(lag: int | None) -> dict[str, Any]:
    news = {"kind": "sentiment"} if lag is None else {"kind": "sentiment", "lag_bars": lag}
    features = {"name": "fs", "features": [{"kind": "returns"}, news]}
    return {"strategy": "ml", "params": {"features": features}}


@pytest.mark.parametrize(
    ("strategy", "where", "key"),
    [
        (_sentiment, "strategies.0", "params.factor.lag_bars"),
        (_hybrid, "strategies.0.params.experts.1", "params.factor.lag_bars"),
        (_ml, "strategies.0.params.features.features.1", "lag_bars"),
    ],
    ids=["sentiment", "hybrid expert", "ml feature"],
)
def test_news_under_close_fills_needs_a_bar_of_lag(
    strategy: Callable[[int | None], dict[str, Any]], where: str, key: str
) -> None:
    """A headline dated D is known at D's close: filled at that close it may trade on
    news published after it."""
    for lag in (None, 0):
        with pytest.raises(ConfigError, match=re.escape(f"{where}: fill_at: close would")) as e:
            parse_config({**NEWS, "fill_at": "close", "strategies": [strategy(lag)]})
        assert str(e.value).endswith(f"set {key}: 1")
    parse_config({**NEWS, "strategies": [strategy(None)]})  # next_open: the next session
    parse_config({**NEWS, "fill_at": "close", "strategies": [strategy(1)]})
