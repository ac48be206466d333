"""Bad config files given to any command: exit 2 and one ``error:`` line naming the
file, never a traceback, a hang or a silent choice (principle 6). The files fail before
any data is read, so every command is run in-process in milliseconds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_run import run

COMMANDS = {
    "backtest": ["backtest", "{F}", "--no-record", "--out", "{T}/out"],
    "optimize": ["optimize", "{F}", "--out", "{T}/out"],
    "ablation": ["ablation", "{F}"],
    "train": ["train", "{F}"],
    "research": ["research", "{F}", "--out", "{T}/out"],
    "paper": ["paper", "{F}", "--no-persist"],
    "ingest": ["ingest", "{F}"],
    "trade": ["trade", "{F}"],
    "rl train": ["rl", "train", "{F}"],
    "rl evaluate": ["rl", "evaluate", "{F}"],
    "anomalies": ["anomalies", "scan", "x", "--out", "{T}/a.csv", "--config", "{F}"],
    "news ic": ["news", "ic", "--config", "{F}"],
}
RUN = (
    'name: t\ndata: {source: sp500_daily_2013_2018, symbols: [AAPL], start: "2017-01-02",'
    ' end: "2017-02-01"}\nstrategies: [{strategy: buy_and_hold}]\n'
)
LAUGHS = (
    "l0: &l0 ["
    + ", ".join(["lol"] * 9)
    + "]\n"
    + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
)  # 9**9 strings once the aliases are copied out
BAD: dict[str, tuple[Callable[[Path], object], str]] = {
    "binary": (
        lambda p: p.write_bytes(bytes(range(256)) * 4),
        "line 2: not UTF-8 text (byte 0x80)",  # 0x0a, a newline, comes first
    ),
    "latin-1": (lambda p: p.write_bytes("name: caf\xe9\n".encode("latin-1")), "not UTF-8 text"),
    "10,000 nested lists": (
        lambda p: p.write_text("[" * 10_000 + "]" * 10_000),
        "not valid YAML: nested deeper than",
    ),
    "billion laughs": (lambda p: p.write_text(LAUGHS), "not valid YAML: aliases expand"),
    "a repeated key": (lambda p: p.write_text(RUN + "name: again\n"), "duplicate key 'name'"),
}


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_config_file_is_one_line_naming_it(tmp_path: Path, command: str, bad: str) -> None:
    cfg = tmp_path / "bad.yaml"
    write, why = BAD[bad]
    write(cfg)
    argv = [a.replace("{F}", str(cfg)).replace("{T}", str(tmp_path)) for a in COMMANDS[command]]
    rc, stderr = run(argv)
    assert rc == 2, stderr
    line = _one_error_line(stderr)
    assert str(cfg) in line and why in line, line
    assert not (tmp_path / "out").exists()


def test_a_repeated_key_is_refused_not_the_last_one_taken(
    shared_data: Path, tmp_path: Path
) -> None:
    """Before: ``name: again`` silently replaced ``name: t`` and the backtest ran."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(RUN + "name: again\n")
    rc, stderr = run(["backtest", str(cfg), "--no-record", "--out", str(tmp_path / "out")])
    assert rc == 2, stderr
    assert "line 4, column 1: not valid YAML: found duplicate key 'name'" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["", "[]\n", "false\n"])
def test_an_empty_settings_file_is_not_all_defaults(
    shared_data: Path, tmp_path: Path, text: str
) -> None:
    """``--config`` names a file of settings: an empty one (or ``[]``) was read as no
    settings at all and the scan ran with the defaults."""
    cfg = tmp_path / "anomalies.yaml"
    cfg.write_text(text)
    args = ["sp500_daily_2013_2018", "--symbols", "AAPL", "--start", "2017-01-02"]
    args += ["--end", "2017-02-01", "--out", str(tmp_path / "a.csv"), "--config", str(cfg)]
    rc, stderr = run(["anomalies", "scan", *args])
    assert rc == 2, stderr
    assert f"{cfg}: the top level must be a mapping" in _one_error_line(stderr)
    assert not (tmp_path / "a.csv").exists()


def test_a_folder_given_as_config_says_so(tmp_path: Path) -> None:
    rc, stderr = run(["backtest", str(tmp_path), "--no-record", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert f"config file {tmp_path}: a folder, not a file" in _one_error_line(stderr)


def test_a_feature_set_that_is_not_utf8_is_one_line(shared_data: Path, tmp_path: Path) -> None:
    features = tmp_path / "features.yaml"
    features.write_bytes("name: caf\xe9\n".encode("latin-1"))
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        "name: t\ndata: {source: sp500_daily_2013_2018, symbols: [AAPL]}\n"
        f"features: {features}\nlabel: {{kind: forward_return, horizon: 5}}\n"
        'model: {kind: logistic}\ntrain_start: "2015-01-01"\ntrain_end: "2016-06-30"\n'
        'test_end: "2016-12-31"\n'
    )
    rc, stderr = run(["train", str(cfg)])
    assert rc == 2, stderr
    assert f"feature set {features}: not UTF-8 text" in _one_error_line(stderr)
