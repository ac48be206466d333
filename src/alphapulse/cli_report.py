"""``alphapulse report`` and ``alphapulse compare``: self-contained HTML tearsheets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from alphapulse.analytics.report import RunData, build_comparison, build_report, load_run
from alphapulse.core.errors import DataError

DbOption = Annotated[
    str | None, typer.Option("--db", envvar="ALPHAPULSE_DB_URL", help="database URL (run ids)")
]


def resolve_run(ref: str, db: str | None = None) -> RunData:
    """A run folder, else a run id recorded in the database."""
    path = Path(ref)
    if path.exists():
        return load_run(path)
    from alphapulse.analytics.report.stored import load_stored_run
    from alphapulse.store import open_store

    with open_store(db) as store:
        return load_stored_run(store, ref)


def market_data(
    run: RunData, dataset: str | None, benchmark: str | None
) -> tuple[pd.Series | None, dict[str, pd.DataFrame] | None]:
    """The benchmark's closes and the traded symbols' bars from ``dataset``."""
    if dataset is None:
        if benchmark is not None:
            raise DataError("--benchmark needs --data DATASET (where to read its prices)")
        return None, None
    from alphapulse.data.catalog import load_frames

    trades = run.table("trades")
    symbols = sorted(set(trades["symbol"].astype(str))) if len(trades) else []
    wanted = symbols + ([benchmark] if benchmark and benchmark not in symbols else [])
    start, end = (str(run.equity.index[i].date()) for i in (0, -1))
    frames = load_frames(dataset, wanted, start=start, end=end) if wanted else {}
    bench = None
    if benchmark is not None:
        if benchmark not in frames:
            raise DataError(f"--benchmark {benchmark}: no bars in {dataset} for the run's dates")
        bench = frames[benchmark]["close"]
    return bench, {s: frames[s] for s in symbols if s in frames}


def write_report(
    run: RunData, out: Path, *, dataset: str | None = None, benchmark: str | None = None
) -> Path:
    from alphapulse.cli_data import write_output

    bench, prices = market_data(run, dataset, benchmark)
    html = build_report(run, bench, prices)
    write_output(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return out


def report(
    run: Annotated[str, typer.Argument(help="run folder (DIR/<strategy>) or recorded run id")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path("report.html"),
    benchmark: Annotated[
        str | None, typer.Option("--benchmark", help="symbol to compare against")
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", help="dataset for the benchmark and MAE/MFE")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a self-contained HTML tearsheet of one run."""
    path = write_report(resolve_run(run, db), out, dataset=data, benchmark=benchmark)
    Console(stderr=True).print(f"report written to {path}")


def compare(
    runs: Annotated[list[str], typer.Argument(help="run folders or recorded run ids")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path("compare.html"),
    db: DbOption = None,
) -> None:
    """Write an HTML page comparing several runs side by side."""
    from alphapulse.cli_data import write_output

    loaded = [resolve_run(r, db) for r in runs]
    html = build_comparison(loaded)
    write_output(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    Console(stderr=True).print(f"comparison written to {out}")


def optimize(
    config: Annotated[Path, typer.Argument(help="optimisation YAML (docs/reports.md)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("runs/optimize"),
    workers: Annotated[int | None, typer.Option(help="parallel processes", min=1)] = None,
) -> None:
    """Walk-forward parameter search; writes optimize.json, oos_equity.csv, optimize.html."""
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from alphapulse.analytics.optimize import optimize as run_optimize
    from alphapulse.analytics.optimize_config import load_optimize_config
    from alphapulse.analytics.report.optimize_page import optimize_html
    from alphapulse.cli_data import write_output
    from alphapulse.engine.outputs import out_folder
    from alphapulse.engine.runner import load_data

    cfg = load_optimize_config(config)
    out_folder(out)  # before the search: an unusable --out is an error now
    panel = load_data(cfg.baseline_config())
    console = Console(stderr=True)
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("parameter sets", *columns, console=console) as bar:
        task = bar.add_task("sets", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_optimize(cfg, panel, workers=workers, progress=progress)
    text, page = json.dumps(result, indent=2) + "\n", optimize_html(result)
    write_output(out / "optimize.json", lambda tmp: tmp.write_text(text))
    equity = pd.DataFrame(result["oos_equity"])
    write_output(out / "oos_equity.csv", lambda tmp: equity.to_csv(tmp, index=False))
    write_output(out / "optimize.html", lambda tmp: tmp.write_text(page, encoding="utf-8"))
    oos, base = result["oos"], result["baseline"]["buy_and_hold"]
    console.print(
        f"{result['n_sets']} sets, {len(result['windows'])} windows; out of sample: "
        f"Sharpe {oos['sharpe']}, deflated Sharpe {oos['deflated_sharpe']}, PBO {oos['pbo']}, "
        f"CAGR {oos['cagr']}, max drawdown {oos['max_drawdown']} "
        f"(switching costs {oos['switching_cost']:,.2f} charged); buy and hold on the same "
        f"bars: Sharpe {base['sharpe']}, CAGR {base['cagr']}, max drawdown {base['max_drawdown']}"
    )
    console.print(f"outputs written to {out}")
