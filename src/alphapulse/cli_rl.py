"""``alphapulse rl train|evaluate CONFIG.yaml``: reinforcement learning on the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

rl_app = typer.Typer(no_args_is_help=True, help="Reinforcement-learning agents (docs/rl.md).")
ConfigArg = Annotated[Path, typer.Argument(help="YAML RL configuration")]


@rl_app.command("train")
def train_cmd(
    config: ConfigArg,
    progress: Annotated[bool, typer.Option(help="show the progress bar")] = True,
) -> None:
    """Train a policy on the training window, validate, register it."""
    from alphapulse.rl.config import load_rl_config
    from alphapulse.rl.train import train

    cfg = load_rl_config(config)
    cfg = cfg.model_copy(update={"learn": cfg.learn.model_copy(update={"progress": progress})})
    result = train(cfg)
    console = Console()
    console.print(
        f"registered {cfg.policy.name!r} version {result.version}: {result.timesteps} steps, "
        + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
    )


@rl_app.command("evaluate")
def evaluate_cmd(
    config: ConfigArg,
    out: Annotated[Path | None, typer.Option("--out", help="CSV file for the table")] = None,
) -> None:
    """Walk-forward out of sample beside the baselines, after costs."""
    from alphapulse.cli_data import write_table
    from alphapulse.rl.config import load_rl_config
    from alphapulse.rl.evaluate import evaluate

    cfg = load_rl_config(config)
    err = Console(stderr=True)
    table = evaluate(cfg, log=err.print)
    if out is not None:
        write_table(table, out)
    view = Table(title=f"{cfg.name}: walk-forward, out of sample, after costs")
    for col in table.columns:
        view.add_column(str(col))
    for rec in table.itertuples(index=False):
        view.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in rec))
    Console().print(view)
