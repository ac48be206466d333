"""``alphapulse data ...``: import, list, show, validate, resample and fetch bars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from alphapulse.core.errors import DataError

data_app = typer.Typer(no_args_is_help=True, help="Import, inspect, validate and fetch bars.")

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def check_db_url(url: str | None, *, reading: bool = False) -> str | None:
    """``url`` if it names a database: a ``sqlite://`` or ``postgresql`` URL, or a path to a
    SQLite file (``.sqlite``/``.sqlite3``/``.db``, or an existing file); with ``reading``
    the SQLite file must exist. typer.BadParameter (one line, exit 2) otherwise."""
    if url is None:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from alphapulse.store.engine import resolve_url

    hint = "give sqlite:///path.sqlite, a .sqlite/.db file or postgresql+psycopg://user@host/db"
    try:
        sa_url = make_url(resolve_url(url))
    except ArgumentError:
        raise typer.BadParameter(f"{url!r} is not a database URL; {hint}") from None
    backend = sa_url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise typer.BadParameter(f"unsupported database {backend!r} in {url!r}; {hint}")
    if backend == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        path = Path(str(sa_url.database)).expanduser()
        if not path.exists() and (reading or path.suffix.lower() not in SQLITE_SUFFIXES):
            why = "does not exist" if reading else "does not look like a database file"
            raise typer.BadParameter(f"SQLite database {str(path)!r} {why}; {hint}")
        if not path.exists() and not path.parent.is_dir():
            raise typer.BadParameter(f"folder {str(path.parent)!r} of the database does not exist")
    return url


def _check_read_db(url: str | None) -> str | None:
    return check_db_url(url, reading=True)


def _check_write_db(url: str | None) -> str | None:
    return check_db_url(url)


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="ALPHAPULSE_DB_URL",
        help="database URL (default: SQLite file)",
        callback=_check_write_db,
    ),
]
DbReadOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="ALPHAPULSE_DB_URL",
        help="database URL (default: SQLite file)",
        callback=_check_read_db,
    ),
]
SymbolsOpt = Annotated[list[str] | None, typer.Option("--symbol", help="symbol (repeatable)")]


def _out() -> Console:
    return Console(width=max(Console().width, 120))


@data_app.command("import")
def import_(
    source: Annotated[str, typer.Argument(help="dataset name, file or folder")],
    symbol: SymbolsOpt = None,
    timeframe: Annotated[str | None, typer.Option(help="1m, 5m, 1h, 1d ...")] = None,
    on_bad: Annotated[str, typer.Option("--on-bad", help="reject | quarantine")] = "reject",
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict", help="bars differing from stored ones: reject | replace | skip"
        ),
    ] = "reject",
    adjust: Annotated[bool, typer.Option(help="back-adjust for splits/dividends")] = False,
    start: str | None = None,
    end: str | None = None,
    db: DbOpt = None,
) -> None:
    """Validate and store bars; bad rows reject the file or go to quarantine; bars that
    differ from stored ones refuse the import, are skipped or replace them."""
    from alphapulse.core.errors import ConfigError
    from alphapulse.data.importer import import_source
    from alphapulse.store import open_store
    from alphapulse.store.conflicts import ON_CONFLICT

    if on_bad not in ("reject", "quarantine"):
        raise ConfigError(f"--on-bad must be reject or quarantine, not {on_bad!r}")
    if on_conflict not in ON_CONFLICT:
        raise ConfigError(f"--on-conflict must be reject, replace or skip, not {on_conflict!r}")
    with open_store(db) as store:
        res = import_source(
            store, source, symbol, timeframe=timeframe, on_bad=on_bad,  # type: ignore[arg-type]
            on_conflict=on_conflict, adjust=adjust, start=start, end=end,
        )  # fmt: skip
    s = res.summary
    table = Table(title=f"import {s.import_id} ({s.timeframe}) from {source}")
    cols = ("symbols", "rows read", "written", "conflicts", "quarantined", "actions", "warnings")
    for col in cols:
        table.add_column(col, justify="right")
    done = {"replace": "replaced", "skip": "skipped"}.get(on_conflict, "")
    table.add_row(
        str(len(s.symbols)), f"{s.rows_read:,}", f"{s.rows_written:,}",
        f"{s.conflicts:,} {done}" if s.conflicts else "0",
        f"{s.rows_quarantined:,}", str(res.actions), str(len(res.report.warnings)),
    )  # fmt: skip
    _out().print(table)
    if res.report.counts():
        _out().print(_rule_table(res.report.counts(), "issues by rule"))


def _rule_table(counts: dict[str, int], title: str) -> Table:
    t = Table(title=title)
    t.add_column("rule")
    t.add_column("count", justify="right")
    for rule, n in sorted(counts.items()):
        t.add_row(rule, f"{n:,}")
    return t


@data_app.command("list")
def list_(db: DbReadOpt = None, stored: bool = typer.Option(False, help="only the store")) -> None:
    """Datasets of the catalog and the symbols in the store."""
    from alphapulse.data.catalog import data_root, dataset_symbols, list_datasets
    from alphapulse.store import open_store

    out = _out()
    if not stored:
        data_root()  # no data folder (or $ALPHAPULSE_DATA pointing nowhere): one line
        t = Table(title="datasets")
        t.add_column("name")
        t.add_column("symbols", justify="right")
        for name in list_datasets():
            try:
                n = str(len(dataset_symbols(name)))
            except Exception:  # a dataset whose folder is absent here
                n = "-"
            t.add_row(name, n)
        out.print(t)
    with open_store(db) as store:
        symbols = store.list_symbols()
    out.print(f"store: {len(symbols)} symbols" + (f": {' '.join(symbols)}" if symbols else ""))


@data_app.command("show")
def show(
    symbol: str,
    timeframe: str = "1d",
    start: str | None = None,
    end: str | None = None,
    rows: int = 10,
    db: DbReadOpt = None,
) -> None:
    """Print stored bars of one symbol in [start, end)."""
    from alphapulse.store import open_store

    with open_store(db) as store:
        df = store.read_bars(symbol, timeframe, start, end)
    out = _out()
    out.print(f"{symbol} {timeframe}: {len(df):,} bars")
    if len(df):
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            out.print(str(df.head(rows)))
            if len(df) > rows:
                out.print("...")
                out.print(str(df.tail(rows)))


@data_app.command("validate")
def validate(
    source: Annotated[str, typer.Argument(help="dataset name, file or folder")],
    symbol: SymbolsOpt = None,
    limit: int = typer.Option(20, help="issues to list"),
    strict: bool = typer.Option(False, help="exit 2 on warnings too"),
) -> None:
    """Report data problems with the checks of ``data import`` (nothing is stored);
    exit 2 when there are errors (rows import would refuse)."""
    from alphapulse.data.catalog import load_checked

    res = load_checked(source, symbol, policy="report")
    rep = res.report
    out = _out()
    out.print(
        f"{source}: {rep.n_rows:,} rows, {len(rep.errors)} errors, {len(rep.warnings)} warnings"
    )
    if rep.issues:
        out.print(_rule_table(rep.counts(), "issues by rule"))
        t = Table(title=f"first {min(limit, len(rep.issues))} issues")
        for col in ("severity", "file", "line", "symbol", "timestamp", "rule", "field", "value"):
            t.add_column(col)
        for i in rep.issues[:limit]:
            t.add_row(
                i.severity, Path(i.path).name, str(i.row), i.symbol, str(i.timestamp), i.rule,
                i.field or "", str(i.value),
            )  # fmt: skip
        out.print(t)
    if rep.errors or (strict and rep.warnings):
        raise typer.Exit(2)


@data_app.command("resample")
def resample(
    source: str,
    to: Annotated[str, typer.Option("--to", help="5min, 15min, 1h, 1D")],
    symbol: SymbolsOpt = None,
    out: Annotated[Path | None, typer.Option(help="write CSV or Parquet here")] = None,
    session: Annotated[
        Literal["regular", "all"],
        typer.Option(help="regular: regular-hours bars only; all: every bar of a session day"),
    ] = "regular",
    calendar: str = typer.Option("XNYS", help="exchange calendar; 'none' for 24/7"),
    store: bool = typer.Option(False, help="also write to the store"),
    timeframe: Annotated[
        str | None, typer.Option(help="store timeframe name (default: from --to, e.g. 5m)")
    ] = None,
    db: DbOpt = None,
) -> None:
    """Aggregate bars to a coarser timeframe, aligned to exchange sessions."""
    from alphapulse.data.catalog import load_frames
    from alphapulse.data.importer import long_frame, timeframe_of
    from alphapulse.data.resample import bar_step, check_calendar, resample_frames

    bar_step(to)
    cal = check_calendar(calendar)
    frames = load_frames(source, symbol, policy="reject")  # the checks of `data import`
    res = resample_frames(frames, to, calendar=cal, session=session)
    long = pd.concat([long_frame(s, f) for s, f in res.items()], ignore_index=True)
    if out is not None:
        write_table(long, out, make_parent=False)
    if store:
        from alphapulse.store import open_store

        probe = pd.DataFrame()
        probe.attrs["bar"] = to
        tf = timeframe_of(probe, timeframe)
        with open_store(db) as st:
            st.upsert_bars(long, tf)
    _out().print(f"{len(frames)} symbols resampled to {to}: {len(long):,} bars")


def write_table(frame: pd.DataFrame, out: Path, *, make_parent: bool = True) -> None:
    """Write ``frame`` as Parquet (``.parquet``) or CSV to the user's ``out``."""
    if out.suffix == ".parquet":
        write_output(out, lambda tmp: frame.to_parquet(tmp, index=False), make_parent)
    else:
        write_output(out, lambda tmp: frame.to_csv(tmp, index=False), make_parent)


def outside_data(out: Path) -> None:
    """A DataError naming ``out`` when it is inside the data folder (read as data there)."""
    from alphapulse.data.catalog import root_holding

    root = root_holding(out)
    if root is not None:
        raise DataError(f"inside the data folder {root}; write outputs elsewhere", path=str(out))


def write_output(out: Path, write: Callable[[Path], object], make_parent: bool = True) -> None:
    """``write(tmp)`` into a sibling of ``out`` (its folder created with ``make_parent``),
    then rename it to ``out`` (Ctrl-C leaves no half-written file); DataError naming ``out``
    when it is inside the data folder (it would be read as data) or cannot be written."""
    outside_data(out)
    tmp = out.with_name(f".tmp-{out.name}")  # same suffix: the same format and compression
    try:
        if make_parent:
            out.parent.mkdir(parents=True, exist_ok=True)
        try:
            write(tmp)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise DataError(f"cannot write: {exc.strerror or exc}", path=str(out)) from None


@data_app.command("fetch")
def fetch(
    provider: Annotated[str, typer.Option(help="yfinance | alpaca | ccxt")],
    symbol: Annotated[list[str], typer.Option("--symbol")],
    start: Annotated[datetime, typer.Option()],
    end: Annotated[datetime, typer.Option()],
    timeframe: str = "1d",
    exchange: str = typer.Option("binance", help="ccxt exchange id"),
    base_url: str | None = typer.Option(None, help="override the provider's API address"),
    store: bool = typer.Option(True, help="write the bars to the store"),
    db: DbOpt = None,
) -> None:
    """Download bars from a provider (needs network access and, for Alpaca, keys)."""
    from alphapulse.data.importer import actions_frame, long_frame
    from alphapulse.data.providers import get_provider

    kwargs: dict[str, object] = {"base_url": base_url}
    if provider == "ccxt":
        kwargs["exchange"] = exchange
    client = get_provider(provider, **kwargs)
    frames = {s: client.fetch_bars(s, start, end, timeframe) for s in symbol}
    n = sum(len(f) for f in frames.values())
    if store and n:
        from alphapulse.store import open_store

        named = {s.replace("/", ""): f for s, f in frames.items()}
        actions = pd.concat([actions_frame(s, f) for s, f in named.items()], ignore_index=True)
        with open_store(db) as st:
            long = (long_frame(s, f) for s, f in named.items())  # refetched bars replace
            st.import_bars(long, timeframe, source=provider, on_conflict="replace")
            if len(actions):
                st.record_corporate_actions(actions)
    _out().print(f"{provider}: {n:,} bars for {', '.join(symbol)}")
    empty = [s for s, f in frames.items() if f.empty]
    if empty:  # the provider answered, with no bars in the range: said, not left implied
        _out().print(f"no bars for: {', '.join(empty)}")
