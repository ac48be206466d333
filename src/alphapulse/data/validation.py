"""Bar-data checks with row-level issues, and the reject / quarantine policies.

Nothing is ever repaired: ``reject`` raises on the first error, ``quarantine`` sets the
offending rows aside (with their reasons) and keeps the rest. Warnings never remove rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from alphapulse.core.errors import DataError
from alphapulse.data.calendars import (
    ALWAYS_OPEN,
    calendar_for,
    missing_runs,
    session_dates,
    trading_dates,
)
from alphapulse.data.raw import RawBars
from alphapulse.store.validate import MAX_PRICE, MAX_VOLUME, SYMBOL_RE

Severity = Literal["error", "warning"]
Policy = Literal["report", "reject", "quarantine"]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Every rule and its default severity.
RULES: Mapping[str, Severity] = MappingProxyType(
    {
        "missing_value": "error",
        "non_finite": "error",
        "implausible_value": "error",
        "bad_symbol": "error",
        "no_rows": "error",
        "non_positive_price": "error",
        "high_low_bound": "error",
        "negative_volume": "error",
        "negative_action": "error",
        "dividend_above_close": "error",
        "zero_volume": "warning",
        "duplicate_timestamp": "error",
        "out_of_order": "error",
        "off_calendar": "error",
        "gap": "warning",
        "extreme_return": "warning",
        "extreme_range": "warning",
    }
)
_PRICES = ("open", "high", "low", "close")
#: Corporate-action columns: empty cells mean no action; a split of 0 or 1 means none.
_ACTIONS = ("dividend", "split")


class ValidationConfig(BaseModel):
    """Thresholds and calendar of the checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendar: str | None = Field(
        None,
        description="exchange_calendars name, '24/7', or 'none'; None: the dataset's own calendar "
        "(user files without a spec get no calendar checks)",
    )
    max_log_return: float = Field(0.25, gt=0, description="|log close-to-close return| warning")
    max_log_range: float = Field(0.5, gt=0, description="log(high/low) of one bar warning")
    severity: dict[str, Severity] = Field(default_factory=dict, description="per-rule overrides")

    def severity_of(self, rule: str) -> Severity:
        return self.severity.get(rule, RULES[rule])


@dataclass(frozen=True)
class Issue:
    """One finding. ``row`` is the 1-based file line (None for a gap, which has no row)."""

    path: str
    row: int | None
    timestamp: pd.Timestamp | None
    symbol: str
    rule: str
    field: str | None
    value: float | str | None
    severity: Severity


@dataclass(frozen=True)
class ValidationReport:
    """All issues found in a set of bars."""

    issues: tuple[Issue, ...]
    n_rows: int

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def counts(self) -> dict[str, int]:
        """Number of issues per rule."""
        out: dict[str, int] = {}
        for i in self.issues:
            out[i.rule] = out.get(i.rule, 0) + 1
        return out

    def by_rule(self, rule: str) -> list[Issue]:
        return [i for i in self.issues if i.rule == rule]

    def to_frame(self) -> pd.DataFrame:
        """Issues as a DataFrame (one row per issue)."""
        cols = ["path", "row", "timestamp", "symbol", "rule", "field", "value", "severity"]
        return pd.DataFrame([i.__dict__ for i in self.issues], columns=cols)

    def raise_errors(self) -> None:
        """DataError naming the file, row and rule of the first error, with the error count."""
        err = self.first_error()
        if err is not None:
            raise err

    def first_error(self) -> DataError | None:
        """The DataError ``raise_errors`` raises (None without an error)."""
        errs = sorted(self.errors, key=lambda i: (i.path, i.row if i.row is not None else 0))
        if not errs:
            return None
        first = errs[0]
        return DataError(
            f"{len(errs)} data error(s); first: {first.symbol} {first.timestamp} "
            f"{first.field}={first.value!r}",
            path=first.path,
            row=first.row,
            field=first.field,
            rule=first.rule,
        )


@dataclass(frozen=True)
class _Hit:
    """Positions flagged by one rule in one part."""

    part: int
    rule: str
    field: str | None
    positions: npt.NDArray[np.int64]
    values: Sequence[float | str | None]


def _row_hits(k: int, part: RawBars, cfg: ValidationConfig) -> list[_Hit]:
    f = part.frame
    hits: list[_Hit] = []

    def add(rule: str, field: str | None, mask: BoolArray, values: np.ndarray | None) -> None:
        pos = np.flatnonzero(mask)
        if len(pos):
            vals = [None] * len(pos) if values is None else [float(v) for v in values[pos]]
            hits.append(_Hit(k, rule, field, pos.astype(np.int64), vals))

    cols = {c: f[c].to_numpy(dtype=np.float64) for c in (*_PRICES, "volume") if c in f}
    for c, v in cols.items():
        add("missing_value", c, np.isnan(v), None)
        add("non_finite", c, np.isinf(v), v)
        limit = MAX_VOLUME if c == "volume" else MAX_PRICE
        add("implausible_value", c, np.isfinite(v) & (np.abs(v) > limit), v)
    for c in (a for a in _ACTIONS if a in f):
        v = f[c].to_numpy(dtype=np.float64)
        add("non_finite", c, np.isinf(v), v)
        add("negative_action", c, v < 0, v)
    if not SYMBOL_RE.match(part.symbol):
        hits.append(_Hit(k, "bad_symbol", "symbol", np.arange(len(f)), [part.symbol] * len(f)))
    for c in _PRICES:
        add("non_positive_price", c, cols[c] <= 0, cols[c])
    o, h, lo, cl = (cols[x] for x in _PRICES)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.fmax(np.fmax(o, cl), lo)
        bottom = np.fmin(np.fmin(o, cl), h)
        add("high_low_bound", "high", h < top, h)
        add("high_low_bound", "low", lo > bottom, lo)
        vol = cols["volume"]
        add("negative_volume", "volume", vol < 0, vol)
        add("zero_volume", "volume", vol == 0, vol)
        rng = np.log(h / lo)
        add("extreme_range", "high", rng > cfg.max_log_range, h)
    idx = pd.DatetimeIndex(f.index)
    d = np.diff(idx.asi8)
    wrong = np.flatnonzero(np.concatenate([[False], d > 0 if part.descending else d < 0]))
    if len(wrong):
        stamps = [str(idx[int(i)]) for i in wrong]
        hits.append(_Hit(k, "out_of_order", "timestamp", wrong.astype(np.int64), stamps))
    return hits


def _calendar_name(parts: Sequence[RawBars], cfg: ValidationConfig) -> str | None:
    name = cfg.calendar or str(parts[0].meta.get("calendar") or "none")
    return None if name.lower() in ("none", "unknown") else name


def _bar(parts: Sequence[RawBars]) -> pd.Timedelta:
    return pd.Timedelta(str(parts[0].meta.get("bar") or "1D"))


def build_calendars(
    groups: Mapping[str, Sequence[RawBars]], config: ValidationConfig | None = None
) -> dict[str, xcals.ExchangeCalendar]:
    """One exchange calendar per calendar name used, covering all the bars' dates."""
    cfg = config or ValidationConfig()
    spans: dict[str, list[pd.Timestamp]] = {}
    for parts in groups.values():
        name = _calendar_name(parts, cfg) if parts else None
        if name is None or name == ALWAYS_OPEN:
            continue
        for p in parts:
            if len(p):
                idx = pd.DatetimeIndex(p.frame.index).tz_localize(None)
                spans.setdefault(name, []).extend([idx.min().normalize(), idx.max().normalize()])
    day = pd.Timedelta("1D")
    return {n: calendar_for(n, min(v) - day, max(v) + day) for n, v in spans.items()}


def _symbol_hits(
    parts: Sequence[RawBars],
    cfg: ValidationConfig,
    calendars: Mapping[str, xcals.ExchangeCalendar],
) -> tuple[list[_Hit], list[Issue]]:
    """Rules needing all of one symbol's rows: duplicates, returns, calendar."""
    hits: list[_Hit] = []
    gaps: list[Issue] = []
    ts = np.concatenate([pd.DatetimeIndex(p.frame.index).as_unit("ns").asi8 for p in parts])
    owner = np.concatenate([np.full(len(p), k) for k, p in enumerate(parts)])
    pos = np.concatenate([np.arange(len(p)) for p in parts])
    dup = pd.Index(ts).duplicated(keep="first")
    for k in np.unique(owner[dup]):
        sel = dup & (owner == k)
        stamps = [str(pd.Timestamp(int(t), tz="UTC")) for t in ts[sel]]
        hits.append(_Hit(int(k), "duplicate_timestamp", "timestamp", pos[sel], stamps))
    keep = np.flatnonzero(~dup)
    order = keep[np.argsort(ts[keep], kind="stable")]
    close = np.concatenate([p.frame["close"].to_numpy(dtype=np.float64) for p in parts])[order]
    valid = np.flatnonzero(~np.isnan(close) & (close > 0))
    if len(valid) > 1:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            r = np.abs(np.log(close[valid[1:]] / close[valid[:-1]]))
        for i in valid[1:][r > cfg.max_log_return]:
            j = order[i]
            hits.append(
                _Hit(int(owner[j]), "extreme_return", "close", np.array([pos[j]]), [close[i]])
            )
    hits += _dividend_hits(parts, order, owner, pos, close)
    name = _calendar_name(parts, cfg)
    if name is not None and len(order):
        cal = None if name == ALWAYS_OPEN else calendars.get(name)
        if cal is None and name != ALWAYS_OPEN:
            cal = build_calendars({"": parts}, cfg)[name]
        cal_hits, gaps = _calendar_hits(parts, ts[order], owner[order], pos[order], cal)
        hits += cal_hits
    return hits, gaps


def _dividend_hits(
    parts: Sequence[RawBars],
    order: npt.NDArray[np.int64],
    owner: np.ndarray,
    pos: np.ndarray,
    close: FloatArray,
) -> list[_Hit]:
    """Dividends at or above the previous bar's close (time order; divided by the ratio of
    a split on the dividend's bar that the prices do not reflect yet, as ``back_adjust``
    does): back-adjusting them would make earlier prices zero or negative."""
    if not any("dividend" in p.frame for p in parts):
        return []
    div = np.concatenate([_values(p, "dividend") for p in parts])[order]
    split = np.concatenate(
        [
            np.full(len(p), np.nan) if p.meta.get("splits_applied") else _values(p, "split")
            for p in parts
        ]
    )[order]
    ratio = np.where(np.isfinite(split) & (split > 0), split, 1.0)  # bad ones: own errors
    prev = np.concatenate([[np.nan], close[:-1]]) / ratio
    with np.errstate(invalid="ignore"):
        big = np.flatnonzero(np.isfinite(div) & (div > 0) & (div >= prev))
    return [
        _Hit(int(owner[j]), "dividend_above_close", "dividend", np.array([pos[j]]), [float(div[i])])
        for i, j in zip(big, order[big], strict=True)
    ]


def _values(part: RawBars, column: str) -> FloatArray:
    """A column of ``part`` as float64 (NaN where the part lacks it)."""
    if column in part.frame:
        return part.frame[column].to_numpy(dtype=np.float64)
    return np.full(len(part), np.nan)


def _calendar_hits(
    parts: Sequence[RawBars],
    ts: npt.NDArray[np.int64],
    owner: np.ndarray,
    pos: np.ndarray,
    cal: xcals.ExchangeCalendar | None,
) -> tuple[list[_Hit], list[Issue]]:
    """off_calendar rows and gap runs, against ``cal`` (None: 24/7 on the bar grid)."""
    sym, path = parts[0].symbol, parts[0].path
    bar = _bar(parts)
    if cal is None:
        off = (ts - ts[0]) % bar.value != 0
        expected = np.arange(ts[0], ts[-1] + 1, bar.value, dtype=np.int64)
        name = ALWAYS_OPEN
    else:
        idx = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True))
        dates = trading_dates(idx, str(cal.tz), bar >= pd.Timedelta("1D"))
        sessions = session_dates(cal, dates.min(), dates.max())
        off = ~dates.isin(sessions)
        expected = sessions.as_unit("ns").asi8
        ts = dates.as_unit("ns").asi8
        name = str(cal.name)
    hits = [
        _Hit(int(owner[j]), "off_calendar", "timestamp", np.array([pos[j]]), [name])
        for j in np.flatnonzero(off)
    ]
    gaps = []
    for i, n in missing_runs(expected, ts):
        first = pd.Timestamp(int(expected[i]), tz="UTC")
        gaps.append(Issue(path, None, first, sym, "gap", None, float(n), "warning"))
    return hits, gaps


def _issues(parts: Sequence[RawBars], hits: list[_Hit], cfg: ValidationConfig) -> list[Issue]:
    out = []
    for hit in hits:
        part = parts[hit.part]
        idx = part.frame.index
        sev = cfg.severity_of(hit.rule)
        for p, v in zip(hit.positions, hit.values, strict=True):
            out.append(
                Issue(
                    part.path, int(part.lines[p]), idx[p], part.symbol, hit.rule, hit.field, v, sev
                )
            )
    return out


def check_symbol(
    parts: Sequence[RawBars],
    config: ValidationConfig | None = None,
    calendars: Mapping[str, xcals.ExchangeCalendar] | None = None,
) -> list[Issue]:
    """All issues of one symbol's bars (one RawBars per file)."""
    cfg = config or ValidationConfig()
    hits = [h for k, p in enumerate(parts) for h in _row_hits(k, p, cfg)]
    sym_hits, gaps = _symbol_hits(parts, cfg, calendars or {})
    issues = _issues(parts, hits + sym_hits, cfg) + gaps
    return sorted(issues, key=lambda i: (i.path, i.row if i.row is not None else 1 << 62))


def validate(
    groups: Mapping[str, Sequence[RawBars]], config: ValidationConfig | None = None
) -> ValidationReport:
    """Check every symbol's bars; see RULES for the rules and their default severity."""
    issues: list[Issue] = []
    n = 0
    calendars = build_calendars(groups, config)
    for parts in groups.values():
        if parts:
            issues += check_symbol(parts, config, calendars)
            n += sum(len(p) for p in parts)
    if not n:
        issues += [_no_rows(p, config) for parts in groups.values() for p in parts]
    return ValidationReport(tuple(issues), n)


def _no_rows(part: RawBars, config: ValidationConfig | None) -> Issue:
    sev = (config or ValidationConfig()).severity_of("no_rows")
    return Issue(part.path, None, None, part.symbol, "no_rows", None, "no data rows", sev)


@dataclass(frozen=True)
class Checked:
    """Outcome of a policy: kept bars per symbol, the report and the set-aside rows."""

    groups: dict[str, list[RawBars]]
    report: ValidationReport
    quarantined: pd.DataFrame


def quarantine(
    groups: Mapping[str, Sequence[RawBars]], report: ValidationReport
) -> tuple[dict[str, list[RawBars]], pd.DataFrame]:
    """Drop rows with an error; return the kept bars and a frame of dropped rows and reasons."""
    reasons: dict[tuple[str, str, int], list[str]] = {}
    for i in report.errors:
        if i.row is not None:
            reasons.setdefault((i.symbol, i.path, i.row), []).append(
                i.rule if i.field is None else f"{i.rule}({i.field})"
            )
    kept: dict[str, list[RawBars]] = {}
    bad_frames = []
    for sym, parts in groups.items():
        kept[sym] = []
        for part in parts:
            bad_lines = [r for (s, p, r) in reasons if s == sym and p == part.path]
            bad = np.isin(part.lines, np.asarray(bad_lines, dtype=np.int64))
            if bad.any():
                _no_action_set_aside(part, bad)
                rows = part.frame[bad].reset_index()
                rows.insert(0, "row", part.lines[bad])
                rows.insert(0, "path", part.path)
                rows.insert(0, "symbol", sym)
                rows["reason"] = [
                    "; ".join(reasons[(sym, part.path, int(r))]) for r in part.lines[bad]
                ]
                bad_frames.append(rows)
            if (~bad).any():
                kept[sym].append(part.take(~bad))
        if not kept[sym]:
            del kept[sym]
    cols = ["symbol", "path", "row", "timestamp", "reason"]
    quarantined = (
        pd.concat(bad_frames, ignore_index=True) if bad_frames else pd.DataFrame(columns=cols)
    )
    return kept, quarantined


def _no_action_set_aside(part: RawBars, bad: BoolArray) -> None:
    """DataError for a row to set aside that carries a split or dividend: dropping it
    would drop the action too (the history before it stored unadjusted)."""
    for col, none in (("split", (0.0, 1.0)), ("dividend", (0.0,))):
        if col in part.frame.columns:
            v = part.frame[col].to_numpy(dtype=np.float64)[bad]
            action = np.isfinite(v) & ~np.isin(v, none)
            if action.any():
                raise DataError(
                    "this row has errors and carries a corporate action: setting it aside"
                    " would lose the action; fix the row",
                    path=part.path,
                    row=int(part.lines[bad][action][0]),
                    field=col,
                    rule="action_on_bad_row",
                )


def apply_policy(
    groups: Mapping[str, Sequence[RawBars]],
    policy: Policy,
    config: ValidationConfig | None = None,
) -> Checked:
    """Validate, then ``reject`` (raise on any error), ``quarantine`` (drop error rows) or
    ``report`` (keep everything, e.g. to inspect the report)."""
    report = validate(groups, config)
    if policy == "reject":
        report.raise_errors()
    if policy == "quarantine":
        kept, bad = quarantine(groups, report)
        return Checked(kept, report, bad)
    return Checked({s: list(p) for s, p in groups.items()}, report, pd.DataFrame())
