"""``--out`` files of the commands: an unusable path is one ``error:`` line (exit 2), a path
inside the data folder is refused (the data there is kept), and Ctrl-C while writing
leaves no half-written file (an earlier file of that name is kept whole)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli_run import run


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root with one dataset ``tiny`` (two symbols of daily bars over 2015)."""
    folder = tmp_path / "data" / "tiny"
    folder.mkdir(parents=True)
    days = pd.bdate_range("2015-01-01", "2015-12-31")
    rng = np.random.default_rng(3)
    for symbol in ("AAA", "BBB"):
        close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days))))
        pd.DataFrame(
            {"timestamp": days.strftime("%Y-%m-%d"), "open": close, "high": close * 1.01,
             "low": close * 0.99, "close": close, "volume": 1000}
        ).to_csv(folder / f"{symbol}.csv", index=False)  # fmt: skip
    monkeypatch.setenv("ALPHAPULSE_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def regimes(out: Path) -> list[str]:
    return ["regimes", "tiny", "--detector", "vol", "--out", str(out)]


def test_regimes_writes_the_csv(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "r.csv"
    assert run(regimes(out))[0] == 0
    df = pd.read_csv(out)
    assert set(df["symbol"]) == {"AAA", "BBB"} and "regime" in df.columns


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_unwritable_out_is_one_line(data: Path, tmp_path: Path, where: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    out = tmp_path / ("folder" if where == "folder" else "afile/r.csv")
    rc, err = run(regimes(out))
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and str(out) in " ".join(err.split()), err


def test_out_inside_the_data_folder_is_refused(data: Path) -> None:
    target = data / "tiny" / "AAA.csv"
    before = target.read_bytes()
    rc, err = run(regimes(target))
    assert rc == 2 and "data folder" in err, err
    assert target.read_bytes() == before  # the stored bars are not overwritten
    assert run(regimes(data / "tiny" / "CCC.csv"))[0] == 2
    assert sorted(p.name for p in (data / "tiny").iterdir()) == ["AAA.csv", "BBB.csv"]


@pytest.mark.parametrize("command", ["backtest", "anomalies"])
def test_an_output_folder_inside_the_data_folder_is_refused(
    data: Path, tmp_path: Path, command: str
) -> None:
    """A run's CSVs there would be read as data (a backtest's equity.csv as a symbol)."""
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text("data: {source: tiny}\nstrategies: [{strategy: buy_and_hold}]\n")
    argv = {
        "backtest": ["backtest", str(run_yaml), "--out", str(data / "tiny" / "runs")],
        "anomalies": ["anomalies", "scan", "tiny", "--out", str(data / "tiny" / "a" / "x.csv")],
    }[command]
    rc, err = run(argv)
    assert rc == 2 and "inside the data folder" in err, err
    assert sorted(p.name for p in (data / "tiny").iterdir()) == ["AAA.csv", "BBB.csv"]


@pytest.mark.parametrize("command", ["optimize", "report", "compare", "regimes_plot"])
def test_a_report_inside_the_data_folder_is_refused(
    data: Path, tmp_path: Path, command: str
) -> None:
    """optimize, report, compare and regimes --plot wrote there (optimize's
    oos_equity.csv would be read as a symbol); now each is refused, nothing written."""
    run_yaml = tmp_path / "run.yaml"
    run_yaml.write_text("data: {source: tiny}\nstrategies: [{strategy: buy_and_hold}]\n")
    assert run(["backtest", str(run_yaml), "--out", str(tmp_path / "runs")])[0] == 0
    opt_yaml = tmp_path / "opt.yaml"
    opt_yaml.write_text(
        "backtest: {data: {source: tiny}}\nstrategy: sma_cross\nengine: event\n"
        "fixed: {slow: 20}\nparams: {fast: [5, 10]}\n"
        "walk_forward: {train_bars: 100, test_bars: 50}\n"
    )
    inside = data / "tiny" / "out"
    argv = {
        "optimize": ["optimize", str(opt_yaml), "--out", str(inside)],
        "report": ["report", str(tmp_path / "runs" / "buy_and_hold"), "--out", f"{inside}.html"],
        "compare": ["compare", str(tmp_path / "runs" / "buy_and_hold"), "--out", f"{inside}.html"],
        "regimes_plot": [*regimes(tmp_path / "r.csv"), "--plot", f"{inside}.html"],
    }[command]
    rc, err = run(argv)
    assert rc == 2 and "inside the data folder" in err, err
    assert sorted(p.name for p in (data / "tiny").iterdir()) == ["AAA.csv", "BBB.csv"]


def test_ctrl_c_while_writing_leaves_no_half_file(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r.csv"
    out.write_text("previous,run\n1,2\n")
    real = pd.DataFrame.to_csv

    def interrupted(self: pd.DataFrame, path: Path, **kw: object) -> None:
        real(self.head(3), path, **kw)  # part of the rows reached the disk
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    rc, err = run(regimes(out))
    assert rc == 130 and err.split() == ["interrupted"], err  # a short message, no traceback
    assert out.read_text() == "previous,run\n1,2\n"  # the earlier file, whole
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["r.csv"]
