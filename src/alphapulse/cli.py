"""The ``alphapulse`` command line."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from typer.exceptions import TyperException

from alphapulse.cli_anomalies import anomalies_app
from alphapulse.cli_data import DbOpt, data_app
from alphapulse.cli_ml import research, train
from alphapulse.cli_news import news_app
from alphapulse.cli_paper import paper
from alphapulse.cli_regimes import ablation, regimes
from alphapulse.cli_report import compare, optimize, report
from alphapulse.cli_rl import rl_app
from alphapulse.cli_serve import serve
from alphapulse.cli_services import ingest, trade
from alphapulse.core.errors import AlphaPulseError

if TYPE_CHECKING:
    from alphapulse.config import BacktestConfig
    from alphapulse.data.panel import Panel

#: The baseline the backtest table shows beside the strategies (principle: next to it).
BASELINE = "buy_and_hold"

app = typer.Typer(add_completion=False, no_args_is_help=True, help="AlphaPulse research platform")
app.add_typer(data_app, name="data")
app.add_typer(anomalies_app, name="anomalies")
app.add_typer(news_app, name="news")
app.add_typer(rl_app, name="rl")
app.command("train")(train)
app.command("research")(research)
app.command("serve")(serve)
app.command("ingest")(ingest)
app.command("trade")(trade)
app.command("paper")(paper)
app.command("report")(report)
app.command("compare")(compare)
app.command("optimize")(optimize)
app.command("regimes")(regimes)
app.command("ablation")(ablation)


@app.command()
def backtest(
    config: Annotated[Path, typer.Argument(help="YAML run configuration")],
    out: Annotated[Path, typer.Option("--out", help="output folder")] = Path("runs/latest"),
    workers: Annotated[int | None, typer.Option(help="parallel processes", min=1)] = None,
    record: Annotated[bool, typer.Option(help="record the runs in the database")] = True,
    html_report: Annotated[
        bool, typer.Option("--report", help="write report.html per strategy")
    ] = False,
    db: DbOpt = None,
    compiled: Annotated[
        bool, typer.Option("--compiled", help="run in the numba kernel (engine: compiled)")
    ] = False,
    baseline: Annotated[
        bool,
        typer.Option(
            help="without a buy_and_hold strategy, add its row to the table (same data, "
            "costs, portfolio and risk; not written to OUT)"
        ),
    ] = True,
) -> None:
    """Run every strategy of CONFIG on one shared data feed; write results to OUT."""
    from alphapulse.config import load_config
    from alphapulse.engine.outputs import out_folder, write_outputs
    from alphapulse.engine.runner import Tables, add_anomaly_tables, load_data, run_backtest

    console = Console(stderr=True)
    cfg = load_config(config)
    out_folder(out)  # before the run: an unusable --out is an error now, not at the end
    panel = load_data(cfg)
    console.print(
        f"[bold]{cfg.name}[/]: {len(cfg.strategies)} strategies, {panel.n_symbols} symbols, "
        f"{panel.n_bars} bars"
    )
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {
            s.label: progress.add_task(s.label, total=panel.n_bars) for s in cfg.strategies
        }

        def report(label: str, done: int, total: int) -> None:
            progress.update(tasks[label], completed=done)

        tables: dict[str, Tables] = {}
        if compiled or cfg.engine == "compiled":
            from alphapulse.sweep.compiled import run_compiled_backtest

            results = run_compiled_backtest(cfg, panel)
            add_anomaly_tables(cfg, panel, tables)
        else:
            results = run_backtest(cfg, panel, workers=workers, progress=report, tables=tables)
    from alphapulse.analytics.run_robustness import sweep_inputs

    equities = [r.equity for r in results.values()]
    robust = sweep_inputs(equities, panel["volume"], panel["close"])
    summaries = {
        label: write_outputs(r, out / label, tables.get(label), robust)
        for label, r in results.items()
    }
    rows = dict(summaries)
    if baseline and all(st.strategy != BASELINE for st in cfg.strategies):
        rows[f"{BASELINE} (baseline)"] = baseline_summary(cfg, panel)
    table = comparison_table(rows, costs_title(cfg))
    Console(width=max(Console().width, 150)).print(table)
    console.print(f"outputs written to {out}")
    if html_report:
        from alphapulse.cli_report import load_run, write_report

        for label in results:
            write_report(load_run(out / label), out / label / "report.html")
        console.print(f"reports written to {out}/<strategy>/report.html")
    if record:
        from alphapulse.engine.recording import data_hash, record_run
        from alphapulse.store import open_store

        digest = data_hash(panel)
        with open_store(db) as store:
            ids = [
                record_run(
                    store, cfg, k, r, summaries[k], digest,
                    anomalies=tables.get(k, {}).get("anomalies"),
                    regimes=tables.get(k, {}).get("regimes"),
                )
                for k, r in results.items()
            ]  # fmt: skip
        console.print(f"runs recorded in {store!r}: {', '.join(ids)}")


def baseline_summary(cfg: BacktestConfig, panel: Panel) -> dict[str, Any]:
    """The summary of ``buy_and_hold`` run as ``cfg`` runs its strategies (same data,
    costs, portfolio construction and risk), for the comparison table."""
    from alphapulse.config import StrategyConfig
    from alphapulse.engine.outputs import summary
    from alphapulse.engine.runner import run_backtest

    only = cfg.model_copy(update={"strategies": [StrategyConfig(strategy=BASELINE)]})
    (result,) = run_backtest(only, panel, workers=1).values()
    return summary(result)


def costs_title(cfg: BacktestConfig) -> str:
    """What the table's figures are net of: "after costs", or which costs the config
    switched off (``model: none``), so a cost-free table does not pass for one after costs."""
    off = [k for k in ("commission", "slippage") if getattr(cfg.execution, k).model == "none"]
    return "after costs" if not off else f"NO {' AND NO '.join(o.upper() for o in off)}"


def comparison_table(summaries: dict[str, dict[str, object]], costs: str = "after costs") -> Table:
    cols = [
        ("final_equity", "final equity", "{:,.0f}"),
        ("total_return", "return", "{:.2%}"),
        ("cagr", "CAGR", "{:.2%}"),
        ("sharpe", "Sharpe", "{:.2f}"),
        ("sortino", "Sortino", "{:.2f}"),
        ("max_drawdown", "max DD", "{:.2%}"),
        ("n_trades", "trades", "{:d}"),
        ("win_rate", "win rate", "{:.1%}"),
        ("total_fees", "fees", "{:,.0f}"),
        ("exposure", "exposure", "{:.1%}"),
    ]
    table = Table(title=f"Strategy comparison ({costs})")
    table.add_column("strategy")
    for _, title, _ in cols:
        table.add_column(title, justify="right")
    for label, s in summaries.items():
        cells = []
        for key, _, fmt in cols:
            v = s.get(key)
            cells.append("-" if v is None else fmt.format(v))
        table.add_row(label, *cells)
    return table


@app.command()
def strategies() -> None:
    """List the strategies that can be named in a config."""
    from alphapulse.strategies.registry import available_strategies, strategy_class

    for name in available_strategies():
        cls = strategy_class(name)
        params = ", ".join(f"{k}={_default_text(f)}" for k, f in cls.Params.model_fields.items())
        typer.echo(f"{name}({params})")


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "<required>"
    value = field.get_default(call_default_factory=True)
    return f"{type(value).__name__}(...)" if isinstance(value, BaseModel) else repr(value)


def _one_line_help(group: typer.Typer) -> None:
    """Each command's help in a listing: its docstring's first paragraph as one line
    (rich help keeps a docstring's line breaks there, mid-sentence), at any depth."""
    for info in group.registered_commands:
        doc = info.callback.__doc__ if info.callback else None
        if info.short_help is None and doc:
            info.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _one_line_help(sub.typer_instance)


_one_line_help(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one clear line, never a traceback."""
    try:
        rc = app(args=argv, standalone_mode=False)
        if isinstance(rc, int) and rc:
            if rc == 130:  # typer's exit code for Ctrl-C (KeyboardInterrupt)
                Console(stderr=True).print("interrupted", highlight=False)
            sys.exit(rc)
    except AlphaPulseError as exc:
        _error(str(exc))
    except typer.Abort:
        sys.exit(1)
    except DBAPIError as exc:  # the database cannot be reached or refused the session
        _error("database: " + (str(exc.orig or exc).strip().splitlines() or ["?"])[0])
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException | TyperException) and hasattr(exc, "show"):
            exc.show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        raise


def _error(message: str) -> NoReturn:
    """Print ``error: message`` on stderr (no markup is read from it) and exit 2."""
    Console(stderr=True, soft_wrap=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
    sys.exit(2)
