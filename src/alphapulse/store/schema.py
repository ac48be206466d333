"""The relational schema as typed SQLAlchemy 2 ORM models (used through Core).

Conventions: market/event times are ``BIGINT`` nanoseconds since the Unix epoch, UTC
(``ts``, ``*_ts``), the engine's native representation; audit times are timezone-aware
UTC datetimes. Symbols are upper-case, timeframes canonical (``1m``, ``5m``, ``1h``,
``1d``...). Every table has a natural unique key that writers upsert on, so repeating a
write is idempotent. Run-scoped tables reference ``runs.id`` (``ON DELETE CASCADE``).

The migrations in ``store/migrations`` create exactly this schema; a test compares them.
"""

from __future__ import annotations

from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from alphapulse.store.types import UTCDateTime, id_type, json_type, key_string

NAMING_CONVENTION: Final = MappingProxyType(
    {
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
SYMBOL_LEN = 32
TIMEFRAME_LEN = 8
NOW = text("CURRENT_TIMESTAMP")
RUN_FK = "runs.id"


class Base(DeclarativeBase):
    """Declarative base holding the metadata the migrations mirror."""

    metadata = MetaData(naming_convention=dict(NAMING_CONVENTION))


def _symbol(*, primary_key: bool = False, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(key_string(SYMBOL_LEN), primary_key=primary_key, nullable=nullable)


def _run_id(*, primary_key: bool = False) -> Mapped[str]:
    return mapped_column(
        key_string(64), ForeignKey(RUN_FK, ondelete="CASCADE"), primary_key=primary_key
    )


# -- reference data ---------------------------------------------------------------------
class Instrument(Base):
    """A tradable symbol; registered automatically when bars or actions arrive."""

    __tablename__ = "instruments"
    symbol: Mapped[str] = _symbol(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    asset_class: Mapped[str | None] = mapped_column(String(32))
    exchange: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


class Bar(Base):
    """One OHLCV bar; ``ts`` is the bar's start. Clustered on the key in SQLite."""

    __tablename__ = "bars"
    __table_args__ = ({"sqlite_with_rowid": False},)
    symbol: Mapped[str] = _symbol(primary_key=True)
    timeframe: Mapped[str] = mapped_column(key_string(TIMEFRAME_LEN), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float] = mapped_column(Double)
    high: Mapped[float] = mapped_column(Double)
    low: Mapped[float] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[float] = mapped_column(Double)
    vwap: Mapped[float | None] = mapped_column(Double)
    trade_count: Mapped[int | None] = mapped_column(BigInteger)


class BarSeries(Base):
    """One (symbol, timeframe) series: its time span and a version bumped by every write.

    Writers lock this row first, which orders concurrent writers of a series and lets the
    block cache detect writes that happened while a block was being built.
    """

    __tablename__ = "bar_series"
    symbol: Mapped[str] = mapped_column(
        key_string(SYMBOL_LEN), ForeignKey("instruments.symbol"), primary_key=True
    )
    timeframe: Mapped[str] = mapped_column(key_string(TIMEFRAME_LEN), primary_key=True)
    timeframe_ns: Mapped[int] = mapped_column(BigInteger)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


class BarBlock(Base):
    """Read cache: the bars of one time block of a series packed as columnar arrays.

    Derived data: every bar write deletes the blocks it touches in the same transaction,
    and readers rebuild missing blocks lazily (see ``store/blocks.py``).
    """

    __tablename__ = "bar_blocks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["symbol", "timeframe"],
            ["bar_series.symbol", "bar_series.timeframe"],
            ondelete="CASCADE",
        ),
        {"sqlite_with_rowid": False},
    )
    symbol: Mapped[str] = _symbol(primary_key=True)
    timeframe: Mapped[str] = mapped_column(key_string(TIMEFRAME_LEN), primary_key=True)
    block_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    flags: Mapped[int] = mapped_column(SmallInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class CorporateAction(Base):
    """A split, dividend or other action, keyed by (symbol, ex_date, action)."""

    __tablename__ = "corporate_actions"
    __table_args__ = (UniqueConstraint("symbol", "ex_date", "action"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(key_string(SYMBOL_LEN), ForeignKey("instruments.symbol"))
    ex_date: Mapped[date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(key_string(32))
    value: Mapped[float] = mapped_column(Double)
    currency: Mapped[str | None] = mapped_column(String(8))
    record_date: Mapped[date | None] = mapped_column(Date)
    pay_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(64))
    import_id: Mapped[str | None] = mapped_column(key_string(64), ForeignKey("imports.import_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


# -- imports ----------------------------------------------------------------------------
class Import(Base):
    """The summary of one data import (idempotency key: ``import_id``)."""

    __tablename__ = "imports"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'failed', 'partial')", name="status"),
    )
    import_id: Mapped[str] = mapped_column(key_string(64), primary_key=True)
    source: Mapped[str | None] = mapped_column(String(200))
    path: Mapped[str | None] = mapped_column(Text)
    timeframe: Mapped[str | None] = mapped_column(key_string(TIMEFRAME_LEN))
    status: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_written: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    symbols: Mapped[Any | None] = mapped_column(json_type())
    detail: Mapped[Any | None] = mapped_column(json_type())
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuarantinedRow(Base):
    """An input row rejected by a validation rule, kept for inspection."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("import_id", "file", "row", "rule", "field"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    import_id: Mapped[str] = mapped_column(key_string(64), ForeignKey("imports.import_id"))
    file: Mapped[str] = mapped_column(Text, server_default=text("''"))
    row: Mapped[int] = mapped_column(BigInteger, server_default=text("-1"))
    rule: Mapped[str] = mapped_column(key_string(64))
    field: Mapped[str] = mapped_column(key_string(64), server_default=text("''"))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    symbol: Mapped[str | None] = _symbol(nullable=True)
    ts: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


# -- runs and their outputs -------------------------------------------------------------
class Run(Base):
    """One backtest or paper-trading run and its provenance."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'finished', 'failed', 'cancelled')", name="status"),
    )
    id: Mapped[str] = mapped_column(key_string(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[Any | None] = mapped_column(json_type())
    code_version: Mapped[str | None] = mapped_column(String(64))
    data_hash: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    initial_cash: Mapped[float | None] = mapped_column(Double)
    metrics: Mapped[Any | None] = mapped_column(json_type())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PortfolioCash(Base):
    """The cash balance of a run, kept current from its fills."""

    __tablename__ = "portfolio_cash"
    run_id: Mapped[str] = _run_id(primary_key=True)
    initial_cash: Mapped[float] = mapped_column(Double)
    cash: Mapped[float] = mapped_column(Double)
    fees: Mapped[float] = mapped_column(Double)
    n_fills: Mapped[int] = mapped_column(BigInteger)
    last_fill_ts: Mapped[int | None] = mapped_column(BigInteger)


class Position(Base):
    """The current position of a run in one symbol (average-cost accounting)."""

    __tablename__ = "positions"
    run_id: Mapped[str] = _run_id(primary_key=True)
    symbol: Mapped[str] = _symbol(primary_key=True)
    quantity: Mapped[float] = mapped_column(Double)
    avg_price: Mapped[float] = mapped_column(Double)
    realized_pnl: Mapped[float] = mapped_column(Double)
    fees: Mapped[float] = mapped_column(Double)
    last_fill_ts: Mapped[int | None] = mapped_column(BigInteger)


class Order(Base):
    """An order of a run, keyed by the engine's order id."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("run_id", "order_id"),
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
    )
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    order_id: Mapped[int] = mapped_column(BigInteger)
    created_ts: Mapped[int | None] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str | None] = mapped_column(String(16))
    quantity: Mapped[float | None] = mapped_column(Double)
    notional: Mapped[float | None] = mapped_column(Double)
    limit_price: Mapped[float | None] = mapped_column(Double)
    stop_price: Mapped[float | None] = mapped_column(Double)
    tif: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str | None] = mapped_column(String(20))
    filled_qty: Mapped[float | None] = mapped_column(Double)
    avg_fill_price: Mapped[float | None] = mapped_column(Double)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    tag: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


class FillRow(Base):
    """An execution of a run; ``fill_key`` makes re-recording it a no-op."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("run_id", "fill_key"),
        CheckConstraint("side IN ('buy', 'sell')", name="side"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price > 0", name="price_positive"),
    )
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    fill_key: Mapped[str] = mapped_column(key_string(128))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Double)
    price: Mapped[float] = mapped_column(Double)
    fee: Mapped[float] = mapped_column(Double)
    slippage: Mapped[float] = mapped_column(Double)
    liquidity: Mapped[str | None] = mapped_column(String(8))
    tag: Mapped[str | None] = mapped_column(String(64))


class Trade(Base):
    """A closed round trip of a run."""

    __tablename__ = "trades"
    __table_args__ = (UniqueConstraint("run_id", "trade_no"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    trade_no: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = _symbol()
    side: Mapped[str] = mapped_column(String(8))
    entry_ts: Mapped[int] = mapped_column(BigInteger)
    entry_price: Mapped[float] = mapped_column(Double)
    exit_ts: Mapped[int] = mapped_column(BigInteger)
    exit_price: Mapped[float] = mapped_column(Double)
    quantity: Mapped[float] = mapped_column(Double)
    pnl: Mapped[float] = mapped_column(Double)
    fees: Mapped[float | None] = mapped_column(Double)
    return_pct: Mapped[float | None] = mapped_column(Double)
    bars_held: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)  # the symbol's position, from 1


class PortfolioSnapshot(Base):
    """Cash, market value and equity of a run at one time."""

    __tablename__ = "portfolio_snapshots"
    run_id: Mapped[str] = _run_id(primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cash: Mapped[float] = mapped_column(Double)
    market_value: Mapped[float] = mapped_column(Double)
    equity: Mapped[float] = mapped_column(Double)
    gross_exposure: Mapped[float | None] = mapped_column(Double)
    net_exposure: Mapped[float | None] = mapped_column(Double)


class Signal(Base):
    """A named signal value of a run for one symbol at one time."""

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("run_id", "ts", "symbol", "name"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    name: Mapped[str] = mapped_column(key_string(64))
    value: Mapped[float | None] = mapped_column(Double)


class Prediction(Base):
    """A model's prediction of a run for one symbol at one time."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("run_id", "ts", "symbol", "model"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    model: Mapped[str] = mapped_column(key_string(64))
    value: Mapped[float | None] = mapped_column(Double)
    confidence: Mapped[float | None] = mapped_column(Double)


class Anomaly(Base):
    """An anomaly a run detected (``symbol`` is '' when it is not about one symbol)."""

    __tablename__ = "anomalies"
    __table_args__ = (UniqueConstraint("run_id", "ts", "symbol", "kind"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(key_string(SYMBOL_LEN), server_default=text("''"))
    kind: Mapped[str] = mapped_column(key_string(64))
    score: Mapped[float | None] = mapped_column(Double)
    detail: Mapped[Any | None] = mapped_column(json_type())


class RiskEvent(Base):
    """A risk rule firing during a run (limit breach, kill switch...), numbered by ``seq``."""

    __tablename__ = "risk_events"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(key_string(64))
    symbol: Mapped[str | None] = _symbol(nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    value: Mapped[float | None] = mapped_column(Double)
    detail: Mapped[Any | None] = mapped_column(json_type())


class Execution(Base):
    """One parent order of a run worked by an execution algorithm, with its quality
    figures (the columns of ``executions.csv``; times in ns), keyed by strategy and
    parent id. A paper session upserts the row while the parent works."""

    __tablename__ = "executions"
    __table_args__ = (UniqueConstraint("run_id", "strategy", "parent_id"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    strategy: Mapped[str] = mapped_column(key_string(200))
    parent_id: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    side: Mapped[str] = mapped_column(String(4))
    algo: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    decision_ts: Mapped[int] = mapped_column(BigInteger)
    end_ts: Mapped[int | None] = mapped_column(BigInteger)
    duration_s: Mapped[float | None] = mapped_column(Double)
    quantity: Mapped[float] = mapped_column(Double)
    filled: Mapped[float] = mapped_column(Double)
    fill_ratio: Mapped[float | None] = mapped_column(Double)
    n_children: Mapped[int] = mapped_column(Integer)
    arrival_price: Mapped[float] = mapped_column(Double)
    avg_price: Mapped[float | None] = mapped_column(Double)
    end_price: Mapped[float | None] = mapped_column(Double)
    interval_vwap: Mapped[float | None] = mapped_column(Double)
    slippage_bps: Mapped[float | None] = mapped_column(Double)
    vwap_slippage_bps: Mapped[float | None] = mapped_column(Double)
    participation: Mapped[float | None] = mapped_column(Double)
    fees: Mapped[float | None] = mapped_column(Double)
    spread_cost: Mapped[float | None] = mapped_column(Double)
    impact_cost: Mapped[float | None] = mapped_column(Double)
    timing_cost: Mapped[float | None] = mapped_column(Double)
    opportunity_cost: Mapped[float | None] = mapped_column(Double)
    shortfall: Mapped[float | None] = mapped_column(Double)
    shortfall_bps: Mapped[float | None] = mapped_column(Double)


class RegimeRow(Base):
    """A strategy's regime at one bar of a run (``regimes.csv`` of the hybrid):
    ``symbol`` is the detector's series (a symbol, or ``market`` for the mean proxy),
    ``probabilities`` maps each label to its filtered probability (null in warmup)."""

    __tablename__ = "regimes"
    __table_args__ = (UniqueConstraint("run_id", "strategy", "ts", "symbol"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    strategy: Mapped[str] = mapped_column(key_string(200))
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = _symbol()
    regime: Mapped[str] = mapped_column(String(32))
    probabilities: Mapped[Any | None] = mapped_column(json_type())
    bars_since_change: Mapped[int] = mapped_column(Integer)


class StrategySwitch(Base):
    """A paper strategy switched off (``enabled`` false) or on again through the API, at
    the bar time of the first step it took effect in (journaled with that step, so a
    restart replays the steps before it as they ran)."""

    __tablename__ = "strategy_switches"
    __table_args__ = (UniqueConstraint("run_id", "ts"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    ts: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean)


class RegimeFit(Base):
    """A model a paper strategy's HMM swapped in: fitted on the bars up to
    ``data_until`` (``n_rows`` feature rows), first used at bar ``used_from``
    (journaled with that step, so a restart replays the swaps as they ran); ``failed``:
    a fit that raised, taken (the model kept) at bar ``used_from``."""

    __tablename__ = "regime_fits"
    __table_args__ = (UniqueConstraint("run_id", "strategy", "data_until"),)
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    run_id: Mapped[str] = _run_id()
    strategy: Mapped[str] = mapped_column(key_string(200))
    data_until: Mapped[int] = mapped_column(BigInteger)
    used_from: Mapped[int] = mapped_column(BigInteger)
    n_rows: Mapped[int] = mapped_column(Integer)
    failed: Mapped[bool] = mapped_column(Boolean, server_default=false())


# -- paper sessions ---------------------------------------------------------------------
class PaperSession(Base):
    """A paper session: the canonical config it was started with and that config's hash
    (a restart with another config is refused, ``live/identity.py``)."""

    __tablename__ = "paper_sessions"
    session: Mapped[str] = mapped_column(key_string(200), primary_key=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[Any] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


class OutboxMessage(Base):
    """A bus message written in the transaction of the journal rows it reports (the
    transactional outbox, ``live/outbox.py``); published in ``id`` order, then flagged."""

    __tablename__ = "bus_outbox"
    __table_args__ = (
        UniqueConstraint("session", "key"),
        Index(None, "session", "published", "id"),
    )
    id: Mapped[int] = mapped_column(id_type(), primary_key=True, autoincrement=True)
    session: Mapped[str] = mapped_column(key_string(200))
    key: Mapped[str] = mapped_column(String(255))  # idempotency key, sent with the message
    topic: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # bus.codec.encode(message)
    published: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=NOW)


#: Core tables by name, for the repositories.
TABLES = Base.metadata.tables
#: Tables keyed by ``run_id`` that ``Store.read_table`` may read.
RUN_TABLES = (
    "orders",
    "fills",
    "trades",
    "positions",
    "portfolio_snapshots",
    "portfolio_cash",
    "signals",
    "predictions",
    "anomalies",
    "risk_events",
    "executions",
    "regimes",
    "strategy_switches",
    "regime_fits",
)
