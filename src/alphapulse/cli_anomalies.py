"""``alphapulse anomalies scan``: scan a dataset's history for anomalies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from alphapulse.anomaly.config import AnomalyConfig

anomalies_app = typer.Typer(no_args_is_help=True, help="Detect market anomalies.")
SEVERITIES = ("low", "medium", "high", "critical")
SCAN_COLUMNS = ["timestamp", "symbol", "type", "severity", "score", "message"]


def _severity(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() not in SEVERITIES:
        raise typer.BadParameter(f"{value!r}: use one of {', '.join(SEVERITIES)}")
    return value.lower()


@anomalies_app.command("scan")
def scan_cmd(
    dataset: Annotated[str, typer.Argument(help="dataset name (or path) of the data catalog")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write")],
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", help="symbols (repeat or comma-separate)")
    ] = None,
    start: Annotated[str | None, typer.Option(help="first date")] = None,
    end: Annotated[str | None, typer.Option(help="last date")] = None,
    min_severity: Annotated[
        str | None,
        typer.Option(
            "--min-severity",
            callback=_severity,
            help="low|medium|high|critical (default: the config's min_severity, low)",
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML with an anomalies: block")
    ] = None,
    root: Annotated[Path | None, typer.Option(help="data root")] = None,
) -> None:
    """Scan DATASET's history; print counts per type and severity and write OUT
    (timestamp, symbol, type, severity, score, message)."""
    from alphapulse.anomaly import Severity
    from alphapulse.anomaly.detector import scan_panel
    from alphapulse.cli_data import write_table
    from alphapulse.core.errors import ConfigError
    from alphapulse.data.catalog import load_panel
    from alphapulse.engine.outputs import out_folder

    cfg = _load_config(config)
    if out.is_dir():
        raise ConfigError(f"--out {out}: a folder, not a CSV file")
    out_folder(out.parent)  # before the scan: an unusable --out is an error now
    names = [s for arg in symbols or [] for s in arg.split(",") if s] or None
    panel = load_panel(dataset, names, start=start, end=end, root=root)
    df = scan_panel(panel, cfg, int(Severity.parse(min_severity or cfg.min_severity)))
    write_table(df[SCAN_COLUMNS], out)
    console = Console()
    console.print(counts_table(df))
    console.print(
        f"{len(df)} anomalies in {panel.n_symbols} symbols x {panel.n_bars} bars; written to {out}"
    )


def _load_config(path: Path | None) -> AnomalyConfig:
    """The ``anomalies:`` block of a YAML file (a run config or the block alone)."""
    if path is None:
        return AnomalyConfig()
    from pydantic import ValidationError

    from alphapulse.config import format_validation_error, read_mapping
    from alphapulse.core.errors import ConfigError

    data = read_mapping(path)
    block = data.get("anomalies") if "anomalies" in data or "strategies" in data else data
    try:
        return AnomalyConfig.model_validate(block or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{path}: anomalies")) from None


def counts_table(df: pd.DataFrame) -> Table:
    """Anomalies counted per type (rows) and severity (columns)."""
    table = Table(title="Anomalies by type and severity")
    table.add_column("type")
    for s in SEVERITIES:
        table.add_column(s.upper(), justify="right")
    table.add_column("total", justify="right")
    counts = df.groupby(["type", "severity"]).size() if len(df) else pd.Series(dtype=int)
    for kind in sorted(set(df["type"])):
        row = [int(counts.get((kind, s.upper()), 0)) for s in SEVERITIES]
        table.add_row(kind, *map(str, row), str(sum(row)))
    return table
