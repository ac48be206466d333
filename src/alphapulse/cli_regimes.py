"""``alphapulse regimes`` (detect regimes in a dataset) and ``alphapulse ablation``
(experts vs fusion vs gated fusion vs buy-and-hold, out of sample, after costs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def regimes(
    dataset: Annotated[str, typer.Argument(help="dataset name (or path) of the data catalog")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", help="symbols (repeat or comma-separate)")
    ] = None,
    detector: Annotated[str, typer.Option(help="hmm | changepoint | vol")] = "hmm",
    n_states: Annotated[int | None, typer.Option("--n-states", help="hmm: 2 to 4")] = None,
    start: Annotated[str | None, typer.Option(help="first date")] = None,
    end: Annotated[str | None, typer.Option(help="last date")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="HTML chart to write")] = None,
    root: Annotated[Path | None, typer.Option(help="data root")] = None,
) -> None:
    """Detect regimes per symbol; write OUT (timestamp, symbol, regime, bars_since,
    p_<label>...) and print the timeline."""
    from pydantic import ValidationError

    from alphapulse.cli_data import outside_data, write_output, write_table
    from alphapulse.core.errors import ConfigError
    from alphapulse.data.catalog import load_panel
    from alphapulse.regimes.config import KINDS, detector_config
    from alphapulse.regimes.research import detect_panel, timeline
    from alphapulse.regimes.research import plot as plot_html

    if detector not in KINDS:
        raise ConfigError(f"--detector: {detector!r} is not one of {', '.join(KINDS)}")
    if n_states is not None and detector != "hmm":
        raise ConfigError(f"--n-states: only for --detector hmm (not {detector})")
    extra = {"n_states": n_states} if n_states is not None else {}
    try:
        cfg = detector_config(detector, **extra)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"--{'.'.join(map(str, err['loc'])) or detector}: {err['msg']}") from None
    for path in (out, plot):  # before the detection
        if path is not None:
            outside_data(path)
    names = [s for arg in symbols or [] for s in arg.split(",") if s] or None
    panel = load_panel(dataset, names, start=start, end=end, root=root)
    df = detect_panel(panel, cfg)
    write_table(df, out)
    console = Console()
    tl = timeline(df)
    table = Table(title=f"{detector} regimes (episodes of 5+ bars)")
    for col in tl.columns:
        table.add_column(col)
    for row in tl[tl["bars"] >= 5].itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    if plot is not None:
        write_output(plot, lambda tmp: plot_html(df, panel, tmp))
    console.print(f"{len(df)} rows for {panel.n_symbols} symbols written to {out}")


def ablation(
    config: Annotated[Path, typer.Argument(help="backtest YAML with one hybrid strategy")],
    out: Annotated[Path | None, typer.Option("--out", help="CSV of the table")] = None,
    oos_start: Annotated[
        str | None, typer.Option("--oos-start", help="first scored date (default: detector ready)")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="parallel processes")] = None,
) -> None:
    """Each expert alone, fusion without gating, gated fusion and buy-and-hold on the
    config's data and costs, scored out of sample with bootstrap Sharpe intervals."""
    from alphapulse.cli_data import write_table
    from alphapulse.config import load_config
    from alphapulse.fusion.ablation import run_ablation

    cfg = load_config(config)
    df = run_ablation(cfg, oos_start=oos_start, workers=workers)
    table = Table(title=f"ablation: {cfg.name} (out of sample, after costs)")
    for col in df.columns:
        table.add_column(col, justify="left" if col == "variant" else "right")
    for row in df.itertuples(index=False):
        table.add_row(row[0], *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row[1:]))
    Console().print(table)
    if out is not None:
        write_table(df, out)
