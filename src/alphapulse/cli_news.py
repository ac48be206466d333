"""``alphapulse news score|ic``: score headlines; measure the factor's rank IC."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from alphapulse.core.errors import ConfigError
from alphapulse.news.config import FactorConfig

news_app = typer.Typer(no_args_is_help=True, help="News sentiment factor.")
NewsOpt = Annotated[str, typer.Option("--news", help="news folder or dataset name")]
SymbolsOpt = Annotated[str, typer.Option("--symbols", help="comma-separated symbols")]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="embedding cache (default ~/.cache/alphapulse/news)"),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML of factor settings")]
DEFAULT_NEWS = "news_headlines_2021_2022"


def factor_config(path: Path | None) -> FactorConfig:
    """Factor settings from a YAML file (a ``factor:`` block or the bare fields)."""
    if path is None:
        return FactorConfig()
    from alphapulse.config import read_mapping

    raw = read_mapping(path)
    raw = raw.get("factor", raw)
    try:
        return FactorConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "factor"
        raise ConfigError(f"{path}: {loc}: {err['msg']}") from None


def _symbols(text: str) -> list[str]:
    return [s.strip().upper() for s in text.split(",") if s.strip()]


@news_app.command("score")
def score_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV or Parquet file to write")],
    news: NewsOpt = DEFAULT_NEWS,
    symbols: SymbolsOpt = "MSFT,TSLA",
    config: ConfigOpt = None,
    embeddings: Annotated[bool, typer.Option(help="also embed (cached by text hash)")] = False,
    cache_dir: CacheOpt = None,
) -> None:
    """Score every headline (VADER), mark relevance and duplicates, write one row per item."""
    from alphapulse.cli_data import write_table
    from alphapulse.news.pipeline import prepare
    from alphapulse.news.scoring import EmbeddingCache, default_embedder, embed_cached
    from alphapulse.news.sources import FolderNewsSource

    cfg = factor_config(config)
    table = FolderNewsSource(news).fetch(_symbols(symbols))
    t0 = time.perf_counter()
    if embeddings:
        embedder = default_embedder(cache_dir)
        embed_cached(table["headline"].tolist(), embedder, EmbeddingCache(cache_dir))
    t_emb = time.perf_counter() - t0
    prepared = prepare(table, cfg.model_copy(update={"scorer": "vader"}))
    frame = table.assign(score=prepared.scores, weight=prepared.weights)
    write_table(frame, out)
    used = int((prepared.weights > 0).sum())
    msg = f"{len(frame)} headlines, {used} relevant and first of their duplicates; written to {out}"
    Console().print(msg + (f" (embeddings {t_emb:.1f} s)" if embeddings else ""))


@news_app.command("ic")
def ic_cmd(
    news: NewsOpt = DEFAULT_NEWS,
    prices: Annotated[str, typer.Option("--prices", help="bar dataset")] = DEFAULT_NEWS,
    symbols: SymbolsOpt = "MSFT,TSLA",
    start: Annotated[str, typer.Option(help="first date")] = "2021-01-04",
    end: Annotated[str, typer.Option(help="last date")] = "2022-09-20",
    config: ConfigOpt = None,
    head: Annotated[bool, typer.Option(help="also the embedding head (walk-forward)")] = False,
    cache_dir: CacheOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="JSON report")] = None,
) -> None:
    """Rank IC of the factor with next-day and next-week returns (from the next open),
    with 95% stationary-bootstrap intervals."""
    from alphapulse.cli_data import write_output
    from alphapulse.data.catalog import load_panel
    from alphapulse.news.loader import embed_items
    from alphapulse.news.pipeline import prepare
    from alphapulse.news.research import evaluate
    from alphapulse.news.sources import FolderNewsSource

    cfg = factor_config(config)
    names = _symbols(symbols)
    panel = load_panel(prices, names, start=start, end=end)
    table = FolderNewsSource(news).fetch(names)
    vectors = embed_items(table, cache_dir) if head else None
    report = evaluate(prepare(table, cfg), panel, cfg, vectors)
    console = Console()
    for key in ("vader", "vader_oos", "head_oos"):
        if key in report:
            console.print(_ic_table(key, report[key]))
    if "oos_start" in report:
        console.print(f"out-of-sample rows from {report['oos_start']}")
    if out is not None:
        text = json.dumps(report, indent=1)
        write_output(out, lambda tmp: tmp.write_text(text))
        console.print(f"written to {out}")


def _ic_table(title: str, rows: dict[str, dict[str, dict[str, float]]]) -> Table:
    table = Table(title=f"rank IC: {title}")
    for col in ("symbol", "factor@horizon", "IC", "95% CI", "n"):
        table.add_column(col)
    for sym, cells in rows.items():
        for key, v in cells.items():
            lo, hi = v["ci_low"], v["ci_high"]
            ci = "-" if lo is None or hi is None else f"[{lo:+.3f}, {hi:+.3f}]"
            table.add_row(sym, key, f"{v['ic']:+.3f}", ci, str(v["n"]))
    return table
