"""Cross-sections of live bars: per-symbol bars grouped by timestamp into one row.

A live source reports bars symbol by symbol. :class:`CrossSections` collects them and
releases a timestamp's row, in time order, once it is complete (every symbol has a bar),
or every missing symbol has already reported a later bar (it skipped this one), or
``grace`` seconds have passed since the row's first bar arrived; a still-missing symbol
is NaN in that row (the risk stage's stale-data guard counts those). A bar for a
timestamp at or before the last released one is late, logged and dropped; so is a second
bar of a symbol for a pending timestamp (the first one stands, as it would once released).
A bar the store would refuse (a missing, non-numeric or infinite value, a price <= 0, a
high/low not bounding open and close, a negative volume: ``store.validate``), an
implausible value (the import's ``MAX_PRICE`` / ``MAX_VOLUME``) or, with ``bar_ns``, a
timestamp off the symbol's bar grid is logged and dropped, so the engines never trade on
it and a persisted session's rows are exactly what it stores and replays.

The grid comes from the bar size (:func:`anchor_step`), never from whatever bar comes
first: ``phase`` fixes every symbol's offset from the epoch (0: multiples of the bar
size); without it a symbol's offset is its session anchor, taken from its first bar that
lies on an anchor step (hourly bars start at their exchange's open, a quarter hour;
shorter and daily bars have a single anchor, the epoch grid), so a misaligned first bar
is rejected like any other and does not move the grid.

Every dropped bar is counted by reason (``late``, ``invalid``, ``off_grid``,
``duplicate``; sources add their own) and reported to ``on_reject(reason, symbol)``
when one is set (the session's metrics).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from alphapulse.core.errors import DataError
from alphapulse.data.validation import MAX_PRICE, MAX_VOLUME
from alphapulse.store.validate import check_bar_values

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
OHLCV = ("open", "high", "low", "close", "volume")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_NS = 86_400_000_000_000
QUARTER_HOUR_NS = 900_000_000_000
#: ``(reason, symbol)`` of a dropped bar ("" for a whole row).
RejectHook = Callable[[str, str], None]


def anchor_step(bar_ns: int) -> int:
    """Where a symbol's bar grid may be anchored, as a step from the epoch. Exchanges open
    on a quarter hour, so bars of up to 15 minutes lie on the epoch grid and hourly bars
    start at a quarter hour (Yahoo's US hours at :30); daily bars are stamped at their
    session date, 00:00 UTC (``data.providers.base.utc_index``, whatever ``session_tz``)."""
    return bar_ns if bar_ns >= DAY_NS else math.gcd(bar_ns, QUARTER_HOUR_NS)


@dataclass(frozen=True, slots=True)
class BarRow:
    """All symbols' bars at one timestamp: field -> [N] values (NaN = no bar).
    ``arrived_ns`` is the monotonic time (``perf_counter_ns``) the row became ready."""

    ts_ns: int
    fields: dict[str, FloatArray]
    arrived_ns: int = 0


@dataclass
class _Pending:
    values: dict[str, FloatArray]
    seen: npt.NDArray[np.bool_]
    first_s: float


@dataclass
class CrossSections:
    """Groups per-symbol bars into rows (see the module docstring)."""

    symbols: tuple[str, ...]
    grace: float = 2.0
    fields: tuple[str, ...] = OHLCV
    clock: Callable[[], float] = time.monotonic
    bar_ns: int | None = None  # the bar length: a bar off its symbol's grid is dropped
    phase: int | None = None  # every symbol's grid (ts % bar_ns); None: its session anchor
    on_reject: RejectHook | None = None  # told of every bar dropped (reason, symbol)
    late: int = 0  # bars dropped because their row was already released
    invalid: int = 0  # bars dropped because their values are not a valid bar or off-grid
    duplicate: int = 0  # bars dropped because their symbol has a bar pending at that time
    off_grid: int = 0  # of ``invalid``: bars stamped off their symbol's grid
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _phases: dict[int, int] = field(default_factory=dict)  # per symbol index
    _latest: FloatArray | None = None  # last bar timestamp reported per symbol
    _released: int | None = None

    def __post_init__(self) -> None:
        self._index = {s: i for i, s in enumerate(self.symbols)}
        self._latest = np.full(len(self.symbols), -np.inf)

    @property
    def last_released(self) -> int | None:
        return self._released

    def add(self, symbol: str, ts_ns: int, bar: Mapping[str, object]) -> bool:
        """Record one bar; False when it is late, invalid, a duplicate or of an unknown
        symbol (all but the last are logged and counted)."""
        sid = self._index.get(symbol)
        if sid is None:
            return False
        if self._released is not None and ts_ns <= self._released:
            self.late += 1
            self.reject(symbol, "late")
            log.warning("bar of %s at %d dropped: its row was released already", symbol, ts_ns)
            return False
        values = {k: _number(bar.get(k)) for k in dict.fromkeys((*OHLCV, *self.fields))}
        problem = bar_problem({k: values[k] for k in OHLCV})
        off = None if problem is not None else self._off_grid(sid, ts_ns)
        if problem is not None or off is not None:
            self.invalid += 1
            if off is not None:
                self.off_grid += 1
            self.reject(symbol, "invalid" if off is None else "off_grid")
            log.warning("bar of %s at %d rejected: %s", symbol, ts_ns, problem or off)
            return False
        p = self._pending.get(ts_ns)
        if p is None:
            n = len(self.symbols)
            p = _Pending({k: np.full(n, np.nan) for k in self.fields}, np.zeros(n, bool), 0.0)
            p.first_s = self.clock()
            self._pending[ts_ns] = p
        elif p.seen[sid]:
            self.duplicate += 1
            self.reject(symbol, "duplicate")
            log.warning("bar of %s at %d dropped: a second bar for that time", symbol, ts_ns)
            return False
        if self.bar_ns is not None:
            self._phases.setdefault(sid, ts_ns % self.bar_ns)
        for k in self.fields:
            p.values[k][sid] = values[k]
        p.seen[sid] = True
        assert self._latest is not None
        self._latest[sid] = max(self._latest[sid], ts_ns)
        return True

    def reject(self, symbol: str, reason: str) -> None:
        """Report a dropped bar of ``symbol`` to ``on_reject`` (the caller counts and logs);
        a symbol not of ``symbols`` is reported as "" (labels stay bounded)."""
        if self.on_reject is not None:
            self.on_reject(reason, symbol if symbol in self._index else "")

    def _off_grid(self, sid: int, ts_ns: int) -> str | None:
        """Why ``ts_ns`` is off the symbol's bar grid (None: on it, or no grid)."""
        if self.bar_ns is None:
            return None
        phase = self.phase if self.phase is not None else self._phases.get(sid)
        if phase is None:  # no anchor yet: it must lie on an anchor step
            step = anchor_step(self.bar_ns)
            if ts_ns % step == 0:
                return None
            return f"timestamp: off the bar grid ({step / 1e9:g} s steps from the epoch)"
        if ts_ns % self.bar_ns == phase % self.bar_ns:
            return None
        return f"timestamp: off the bar grid ({self.bar_ns / 1e9:g} s bars from {phase})"

    def next_slot(self, symbol: str, ts_ns: int) -> int:
        """The first time on ``symbol``'s bar grid after ``ts_ns`` (no anchor yet: the
        next anchor step)."""
        assert self.bar_ns is not None
        phase = self.phase if self.phase is not None else self._phases.get(self._index[symbol])
        if phase is None:
            step = anchor_step(self.bar_ns)
            return ts_ns + step - ts_ns % step
        return ts_ns + self.bar_ns - (ts_ns - phase) % self.bar_ns

    def ready(self, flush: bool = False) -> list[BarRow]:
        """Rows that may be released now, oldest first (``flush``: all pending)."""
        out: list[BarRow] = []
        now = self.clock()
        assert self._latest is not None
        for ts in sorted(self._pending):
            p = self._pending[ts]
            done = bool(p.seen.all()) or bool((p.seen | (self._latest > ts)).all())
            if not (flush or done or now - p.first_s >= self.grace):
                break
            del self._pending[ts]
            self._released = ts
            out.append(BarRow(ts, p.values, time.perf_counter_ns()))
        return out

    def empty_row(self, ts_ns: int) -> BarRow | None:
        """Release an all-NaN row at ``ts_ns`` (a heartbeat while no bars come), unless
        bars for it or earlier are pending or it is not after the last released row."""
        if (self._released is not None and ts_ns <= self._released) or any(
            t <= ts_ns for t in self._pending
        ):
            return None
        self._released = ts_ns
        n = len(self.symbols)
        return BarRow(ts_ns, {k: np.full(n, np.nan) for k in self.fields}, time.perf_counter_ns())

    def next_deadline(self) -> float | None:
        """Seconds until the oldest pending row's grace period ends (None: nothing waits)."""
        if not self._pending:
            return None
        first = self._pending[min(self._pending)].first_s
        return max(0.0, self.grace - (self.clock() - first))


def bar_problem(values: dict[str, float]) -> str | None:
    """Why the store would refuse a bar of these field values (None: it is valid)."""
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        return f"{bad[0]} is missing, not a number or infinite"
    big = [k for k, v in values.items() if abs(v) > (MAX_VOLUME if k == "volume" else MAX_PRICE)]
    if big:
        return f"{big[0]}: implausible value {values[big[0]]:g}"
    try:
        check_bar_values({k: np.array([v], dtype=np.float64) for k, v in values.items()})
    except DataError as exc:
        return f"{exc.field}: {exc.args[0].rsplit(': ', 1)[-1]}"
    return None


def _number(value: object) -> float:
    """``value`` as a float (NaN: missing or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, np.number)):
        return math.nan
    try:
        return float(value)
    except ValueError:
        return math.nan


def session_of(ts_ns: int, tz: str = "UTC") -> int:
    """Trading-session id of a timestamp: its local date in ``tz`` as days since the epoch
    (the same number :func:`alphapulse.engine.feed.session_ids` gives)."""
    if tz == "UTC":
        return ts_ns // 86_400_000_000_000
    local = (_EPOCH + timedelta(microseconds=ts_ns // 1000)).astimezone(ZoneInfo(tz))
    return (local.date() - _EPOCH.date()).days
