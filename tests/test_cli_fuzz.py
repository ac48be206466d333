"""Every bad input gets one clear line: random mutations of configs and data files fed to
the commands in-process (``cli.main``) end in success or exit 2 with an ``error:`` line,
never a traceback. Configs read a tiny two-symbol folder (``tiny``), so a mutation that
drops the symbols or the dates still runs in milliseconds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.cli_run import run

TINY = "TINY_DATA"  # replaced by the folder of the ``tiny`` fixture
BACKTEST = {
    "name": "fuzz",
    "data": {"source": TINY, "symbols": ["AAA", "BBB"],
             "start": "2015-01-01", "end": "2015-04-30"},
    "initial_cash": 100000,
    "execution": {"commission": {"model": "per_share", "per_share": 0.005},
                  "slippage": {"model": "fixed_bps", "bps": 2}},
    "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}},
                   {"strategy": "buy_and_hold"}],
    "workers": 1,
}  # fmt: skip
TRAIN = {
    "name": "fuzz_train",
    "data": {"source": TINY, "symbols": ["AAA", "BBB"],
             "start": "2015-01-01", "end": "2015-12-31"},
    "label": {"kind": "forward_return", "horizon": 5},
    "model": {"kind": "logistic"},
    "train_start": "2015-01-01", "train_end": "2015-09-30", "test_end": "2015-12-31",
}  # fmt: skip
RESEARCH = {
    "name": "fuzz_research",
    "data": {"source": TINY, "symbols": ["AAA", "BBB"],
             "start": "2015-01-01", "end": "2015-12-31"},
    "walk_forward": {"n_splits": 2, "test_size": 40},
    "ml": {"model": {"kind": "logistic"}, "min_train_rows": 50},
    "baselines": [{"strategy": "buy_and_hold"}],
}  # fmt: skip
CSV = (
    "timestamp,open,high,low,close,volume\n2024-01-02,10,11,9.5,10.5,100\n"
    "2024-01-03,10.5,12,10,11.5,120\n2024-01-04,11.5,11.8,11,11.2,90\n"
    "2024-01-05,11.2,11.6,11,11.4,80\n"
)
ODD = st.sampled_from(
    [None, 0, -1, 10**12, 1e308, math.inf, -math.inf, math.nan, "", "garbage", "[x]", "2999-01-01",
     "1600-01-01", [], {}, True, "1e309", "$(rm -rf /)", "!!python/object:os.system"]
)  # fmt: skip


def assert_clean(rc: int, stderr: str, *, report: bool = False) -> None:
    """Success or exit 2 with one error line (``report``: or a report of the errors)."""
    assert "Traceback" not in stderr, stderr
    assert rc in (0, 2), (rc, stderr)
    if rc == 2 and not (report and not stderr.strip()):
        lines = [ln for ln in stderr.splitlines() if ln.startswith(("error:", "Error:"))]
        assert len(lines) == 1, stderr  # one clear line (earlier progress output allowed)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for k, v in items:
        out += _paths(v, (*prefix, k))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> str:
    """YAML text of ``base`` with one to three keys deleted or set to odd values, or broken."""
    cfg = yaml.safe_load(yaml.safe_dump(base))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(cfg)))
        parent: Any = cfg
        try:
            for k in path[:-1]:
                parent = parent[k]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(ODD)
        except (KeyError, IndexError, TypeError):
            continue
    text = yaml.safe_dump(cfg, allow_unicode=True)
    if draw(st.integers(0, 9)) == 0:  # broken YAML: cut and splice in syntax characters
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from([": :", "[", "{a: ", "\t- x", "'", "&a *b"]))
    return text


FUZZ = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no slow shrinking
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two symbols of daily bars over 2015 (random walks), one CSV each."""
    folder = tmp_path_factory.mktemp("tiny")
    days = pd.bdate_range("2015-01-01", "2015-12-31")
    rng = np.random.default_rng(7)
    for symbol in ("AAA", "BBB"):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        open_ = close * (1 + rng.normal(0, 0.002, len(days)))
        pd.DataFrame(
            {"timestamp": days.strftime("%Y-%m-%d"), "open": open_,
             "high": np.maximum(open_, close) * 1.01, "low": np.minimum(open_, close) * 0.99,
             "close": close, "volume": rng.integers(1_000, 5_000, len(days))}
        ).to_csv(folder / f"{symbol}.csv", index=False)  # fmt: skip
    return folder


@pytest.fixture
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def config(path: Path, text: str, tiny: Path) -> str:
    """Write a config text with the tiny folder as its data; the path as text."""
    path.write_text(text.replace(TINY, str(tiny)))
    return str(path)


@FUZZ
@given(text=mutated(BACKTEST))
def test_backtest_config_mutations(work: Path, tiny: Path, text: str) -> None:
    cfg = config(work / "c.yaml", text, tiny)
    assert_clean(*run(["backtest", cfg, "--out", str(work / "o"), "--no-record"]))


@settings(FUZZ, max_examples=4)  # the first passing example starts MLflow (~5 s, once)
@given(text=mutated(TRAIN))
def test_train_config_mutations(
    work: Path, tiny: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALPHAPULSE_MLRUNS", str(work / "mlruns"))
    assert_clean(*run(["train", config(work / "t.yaml", text, tiny)]))


@settings(FUZZ, max_examples=3)  # a passing example writes an HTML report (~1 s)
@given(text=mutated(RESEARCH))
def test_research_config_mutations(work: Path, tiny: Path, text: str) -> None:
    assert_clean(*run(["research", config(work / "r.yaml", text, tiny), "--out", str(work / "o")]))


@st.composite
def mutated_csv(draw: st.DrawFn) -> str:
    rows = [line.split(",") for line in CSV.strip().splitlines()]
    for _ in range(draw(st.integers(1, 3))):
        r, c = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, 5))
        action = draw(st.integers(0, 3))
        if action == 0 and len(rows) > 1:
            rows.pop(r)
        elif action == 1 and c < len(rows[r]):
            rows[r].pop(c)
        else:
            cell = draw(st.one_of(ODD.map(str), st.text(max_size=8), st.floats().map(repr)))
            if c < len(rows[r]):
                rows[r][c] = cell.replace("\n", " ")
    return "\n".join(",".join(r) for r in rows) + "\n"


@FUZZ
@given(text=mutated_csv(), quarantine=st.booleans())
def test_data_file_mutations(tmp_path_factory: pytest.TempPathFactory, text: str,
                             quarantine: bool) -> None:  # fmt: skip
    work = tmp_path_factory.mktemp("csv")
    path = work / "XYZ.csv"
    path.write_text(text)
    assert_clean(*run(["data", "validate", str(path)]), report=True)
    on_bad = "quarantine" if quarantine else "reject"
    db = f"sqlite:///{work / 'f.sqlite'}"
    argv = ["data", "import", str(path), "--timeframe", "1d", "--on-bad", on_bad, "--db", db]
    assert_clean(*run(argv))


CASES = {  # every fault of the issue: (command line with {dir}, words the message must hold)
    "start 2999": (["backtest", "{dir}/y2999.yaml", "--no-record"], "data.start"),
    "bad start": (["backtest", "{dir}/badstart.yaml", "--no-record"], "data.start"),
    "cash inf": (["backtest", "{dir}/inf.yaml", "--no-record"], "initial_cash"),
    "yaml train": (["train", "{dir}/broken.yaml"], "line 2"),
    "train_end": (["train", "{dir}/trainend.yaml"], "train_end"),
    "yaml research": (["research", "{dir}/broken.yaml"], "line 2"),
    "yaml backtest": (["backtest", "{dir}/broken.yaml"], "line 2"),
    "n_splits": (["research", "{dir}/splits.yaml", "--out", "{dir}/o"], "n_splits"),
    "db down": (["data", "show", "X", "--db", "postgresql://u@127.0.0.1:1/x"], "database"),
    "db garbage": (["data", "list", "--stored", "--db", "garbage://zz"], "--db"),
    "db not a file": (["data", "import", "{dir}/f.csv", "--db", "notaurl"], "--db"),
    "db missing": (["data", "show", "X", "--db", "{dir}/none.sqlite"], "does not exist"),
    "csv 2999": (["data", "validate", "{dir}/y.csv"], "line 3"),
    "csv 1600 quarantine": (
        [
            "data",
            "import",
            "{dir}/o.csv",
            "--on-bad",
            "quarantine",
            "--timeframe",
            "1d",
            "--db",
            "{dir}/q.sqlite",
        ],
        "line 3",
    ),
}


def test_each_fault_is_one_clear_line(tmp_path: Path, tiny: Path) -> None:
    base = yaml.safe_dump(BACKTEST).replace(TINY, str(tiny))
    (tmp_path / "y2999.yaml").write_text(base.replace("2015-01-01", "2999-01-01"))
    (tmp_path / "badstart.yaml").write_text(base.replace("2015-01-01", "not a date"))
    (tmp_path / "inf.yaml").write_text(base.replace("100000", ".inf"))
    (tmp_path / "broken.yaml").write_text("name: [\n  x: : :\n")
    (tmp_path / "splits.yaml").write_text(
        yaml.safe_dump({**RESEARCH, "walk_forward": {"n_splits": 100000}}).replace(TINY, str(tiny))
    )
    (tmp_path / "trainend.yaml").write_text(yaml.safe_dump({**TRAIN, "train_end": "$(x)"}))
    (tmp_path / "f.csv").write_text(CSV)
    (tmp_path / "y.csv").write_text(CSV.replace("2024-01-03", "2999-01-03"))
    (tmp_path / "o.csv").write_text(CSV.replace("2024-01-03", "1600-01-03"))
    for name, (argv, needle) in CASES.items():
        rc, err = run([a.replace("{dir}", str(tmp_path)) for a in argv])
        assert rc == 2, (name, err)
        assert_clean(rc, err)
        assert needle in err, (name, err)
        assert not (tmp_path / "notaurl").exists()
