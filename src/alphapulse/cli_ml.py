"""``alphapulse train`` and ``alphapulse research`` (mounted in ``cli.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

T = TypeVar("T")


def train(config: Annotated[Path, typer.Argument(help="YAML training configuration")]) -> None:
    """Train one model on the configured window, register it, print its metrics."""
    from alphapulse.ml.training import load_train_config, run_training

    cfg = _load(load_train_config, config)
    out = run_training(cfg)
    console = Console()
    table = Table(title=f"{out['name']} v{out['version']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in out["metrics"].items():
        table.add_row(k, f"{v:.4f}")
    console.print(table)
    meta = out["metadata"]
    console.print(
        f"registered {out['name']} version {out['version']}: trained on "
        f"{meta['train_start']} .. {meta['train_end']} ({meta['train_rows']} rows, labels "
        f"realised by {meta['max_label_end']})"
    )
    if "tuning" in meta:
        tu = meta["tuning"]
        console.print(
            f"tuned {tu['n_trials']} trials ({tu['metric']} {tu['best_value']:.4f}): "
            f"{tu['best_params']}"
        )


def research(
    config: Annotated[Path, typer.Argument(help="YAML research configuration")],
    out: Annotated[Path, typer.Option("--out", help="report folder")] = Path("runs/research"),
) -> None:
    """Purged walk-forward of the ML strategy vs baselines, out of sample, after costs."""
    from alphapulse.ml.research import load_research_config, run_research

    cfg = _load(load_research_config, config)
    console = Console(stderr=True)
    console.print(f"[bold]{cfg.name}[/]: walk-forward research, report to {out}")
    report = run_research(cfg, out)
    Console(width=max(Console().width, 150)).print(_overall_table(report["metrics"]))
    console.print(report["summary"])
    console.print(f"report: {out / 'report.html'} ({report['seconds']['total']} s)")


def _load(loader: Callable[[Path], T], path: Path) -> T:
    """``loader(path)``, with YAML syntax errors as one ConfigError naming the line."""
    import yaml

    from alphapulse.config import yaml_error

    try:
        return loader(path)
    except yaml.YAMLError as exc:
        raise yaml_error(path, exc) from None


def _overall_table(rows: list[dict[str, Any]]) -> Table:
    cols = [
        ("sharpe", "Sharpe", "{:.2f}"),
        ("total_return", "return", "{:.2%}"),
        ("max_drawdown", "max DD", "{:.2%}"),
        ("turnover", "turnover", "{:.1f}"),
        ("hit_rate", "hit rate", "{:.1%}"),
        ("ic", "IC", "{:.4f}"),
        ("pred_hit_rate", "pred hit", "{:.1%}"),
        ("fees", "fees", "{:,.0f}"),
    ]
    table = Table(title="Out of sample, after costs (overall)")
    table.add_column("strategy")
    for _, title, _ in cols:
        table.add_column(title, justify="right")
    for r in rows:
        if r["fold"] != "overall":
            continue
        cells = ["-" if r.get(k) is None else fmt.format(r[k]) for k, _, fmt in cols]
        table.add_row(r["strategy"], *cells)
    return table
