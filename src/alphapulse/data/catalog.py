"""Find datasets under the data root and load them as per-symbol frames or a Panel."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from alphapulse.core.errors import DataError
from alphapulse.data.adjustments import tradable
from alphapulse.data.panel import Panel
from alphapulse.data.raw import RawBars, assemble, time_bounds
from alphapulse.data.sources.dataset import read_spec_file
from alphapulse.data.sources.files import read_path
from alphapulse.data.spec import DatasetSpec, get_spec, load_specs
from alphapulse.data.validation import Policy, ValidationConfig, ValidationReport, apply_policy

log = logging.getLogger(__name__)

ENV_VAR = "ALPHAPULSE_DATA"
_REPO_ROOT = Path(__file__).resolve().parents[3]


def data_root() -> Path:
    """Folder holding the datasets.

    ``$ALPHAPULSE_DATA`` if set, else ``../shared/data`` next to the current directory, else
    ``../shared/data`` next to the repository this package lives in.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise DataError(f"${ENV_VAR} points to {root}, which is not a directory")
        return root
    near = (Path.cwd().parent, _REPO_ROOT.parent)
    candidates = list(dict.fromkeys(p / "shared" / "data" for p in near))  # each once
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise DataError(f"no data root: set ${ENV_VAR} to the data folder (tried {tried})")


def list_datasets() -> list[str]:
    """Names of every dataset with a spec, sorted (whether or not its folder is present)."""
    return sorted(load_specs())


def dataset_files(spec: DatasetSpec, root: Path | None = None) -> list[Path]:
    """The data files of a dataset, sorted by name."""
    folder = (root if root is not None else data_root()) / spec.folder_name
    if not folder.is_dir():
        raise DataError(f"dataset {spec.name!r}: folder {folder} does not exist")
    files = sorted(p for p in folder.glob(spec.files) if p.is_file())
    if not files:
        raise DataError(f"dataset {spec.name!r}: no files match {spec.files!r} in {folder}")
    return files


def _symbol_files(spec: DatasetSpec, files: Iterable[Path]) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for path in files:
        sym = spec.symbol_of(path)
        if sym is None:
            raise DataError(f"file name does not match {spec.symbol.pattern!r}", path=str(path))
        out.setdefault(sym, []).append(path)
    return out


def dataset_symbols(name: str, root: Path | None = None) -> list[str]:
    """Upper-case tickers available in dataset ``name``, sorted."""
    spec = get_spec(name)
    files = dataset_files(spec, root)
    if spec.symbol.column is None:
        return sorted(_symbol_files(spec, files))
    syms: set[str] = set()
    for path in files:
        col = pd.read_csv(
            path, sep=spec.separator, skiprows=spec.skip_rows, usecols=[spec.symbol.column]
        )[spec.symbol.column]
        syms.update(spec.symbol.normalize(str(s)) for s in col.dropna().unique())
    return sorted(syms)


def _wanted(symbols: Sequence[str] | None) -> list[str] | None:
    if symbols is None:
        return None
    if isinstance(symbols, str):
        symbols = [symbols]
    wanted: dict[str, str] = {}
    for given in symbols:
        name = given.strip().upper()
        if name in wanted:  # never dropped silently: the caller listed it twice
            first = wanted[name]
            why = (
                f"{given!r} listed twice"
                if first == given
                else f"{first!r} and {given!r} name the same symbol {name}"
            )
            raise DataError(f"symbols: {why}", field="symbols")
        wanted[name] = given
    return list(wanted)


def _check_found(wanted: list[str], found: Iterable[str], source: str) -> None:
    have = set(found)
    missing = [s for s in wanted if s not in have]
    if missing:
        raise DataError(
            f"{source}: no data for symbol(s) {', '.join(missing)} ({len(have)} symbols available)"
        )


def read_dataset(
    spec: DatasetSpec, symbols: Sequence[str] | None = None, root: Path | None = None
) -> dict[str, list[RawBars]]:
    """RawBars of a dataset grouped by symbol, reading only the files needed."""
    wanted = _wanted(symbols)
    files = dataset_files(spec, root)
    if spec.symbol.column is None:
        by_symbol = _symbol_files(spec, files)
        if wanted is not None:
            _check_found(wanted, by_symbol, spec.name)
            files = [p for s in wanted for p in by_symbol[s]]
    groups: dict[str, list[RawBars]] = {}
    for path in files:
        for part in read_spec_file(spec, path):
            if wanted is None or part.symbol in wanted:
                groups.setdefault(part.symbol, []).append(part)
    if wanted is not None:
        _check_found(wanted, groups, spec.name)
        return {s: groups[s] for s in wanted}
    return {s: groups[s] for s in sorted(groups)}


def _specs_for_path(path: Path, specs: Iterable[DatasetSpec]) -> list[DatasetSpec]:
    folder = path if path.is_dir() else path.parent
    same = [s for s in specs if s.folder_name == folder.name]
    if path.is_file():
        same = [s for s in same if path.match(s.files)]
    return same


def read_source(
    source: str | Path, symbols: Sequence[str] | None = None, root: Path | None = None
) -> dict[str, list[RawBars]]:
    """RawBars by symbol from a dataset name, or a file/folder path (spec'd folders are
    recognised by name; anything else goes through the generic file reader)."""
    text = str(source)
    specs = load_specs()
    if isinstance(source, str) and text in specs:
        return read_dataset(specs[text], symbols, root)
    path = Path(text).expanduser()
    if not path.exists() and not path.is_absolute():
        base = root if root is not None else root_or_none()
        if base is not None and (base / text).exists():
            path = base / text
    if not path.exists():
        raise DataError(
            f"{text!r} is neither a dataset ({', '.join(sorted(specs))}) nor an existing path"
        )
    matching = _specs_for_path(path, specs.values())
    if len(matching) > 1 and path.is_dir():
        names = ", ".join(s.name for s in matching)
        raise DataError(f"folder {path} holds several datasets ({names}); pass one by name")
    if len(matching) == 1:
        spec = matching[0]
        if path.is_dir():
            return read_dataset(spec, symbols, path.parent)
        parts = read_spec_file(spec, path)
    else:
        parts = read_path(path)
    return _group(parts, _wanted(symbols), text)


def root_or_none() -> Path | None:
    """The data root, None when there is none (no folder configured or found)."""
    try:
        return data_root()
    except DataError:
        return None


def root_holding(path: Path) -> Path | None:
    """The data root when ``path`` lies inside it (an output there would be read as
    data), else None."""
    root = root_or_none()
    if root is not None and path.resolve().is_relative_to(root.resolve()):
        return root
    return None


def _group(parts: list[RawBars], wanted: list[str] | None, source: str) -> dict[str, list[RawBars]]:
    groups: dict[str, list[RawBars]] = {}
    for part in parts:
        groups.setdefault(part.symbol, []).append(part)
    if wanted is None:
        return {s: groups[s] for s in sorted(groups)}
    _check_found(wanted, groups, source)
    return {s: groups[s] for s in wanted}


def _in_window(
    groups: dict[str, list[RawBars]], start: str | None, end: str | None
) -> dict[str, list[RawBars]]:
    lo, hi = time_bounds(start, end)
    if lo is None and hi is None:
        return groups
    out: dict[str, list[RawBars]] = {}
    for sym, parts in groups.items():
        kept = []
        for part in parts:
            idx = pd.DatetimeIndex(part.frame.index)
            mask = np.ones(len(idx), dtype=bool)
            if lo is not None:
                mask &= np.asarray(idx >= lo)
            if hi is not None:
                mask &= np.asarray(idx <= hi)
            if mask.any():
                kept.append(part.take(mask))
        if kept:
            out[sym] = kept
    return out


@dataclass(frozen=True)
class CheckedLoad:
    """Frames after validation, the full report and the rows set aside (quarantine)."""

    frames: dict[str, pd.DataFrame]
    report: ValidationReport
    quarantined: pd.DataFrame


def load_checked(
    source: str,
    symbols: Sequence[str] | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    root: Path | None = None,
    policy: Policy = "quarantine",
    checks: ValidationConfig | None = None,
) -> CheckedLoad:
    """Load, validate the rows in [start, end] and apply ``policy`` (see validation.Policy).

    ``reject`` raises DataError on the first error; ``quarantine`` drops rows with errors and
    returns them in ``quarantined``; ``report`` keeps every row (duplicates still raise when
    the frames are built).
    """
    groups = _in_window(read_source(source, symbols, root), start, end)
    checked = apply_policy(groups, policy, checks)
    frames = {s: assemble(parts) for s, parts in checked.groups.items() if parts}
    return CheckedLoad(frames, checked.report, checked.quarantined)


def load_frames(
    source: str,
    symbols: Sequence[str] | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    root: Path | None = None,
    policy: Policy | None = None,
    checks: ValidationConfig | None = None,
) -> dict[str, pd.DataFrame]:
    """Per-symbol bar frames: UTC DatetimeIndex ``timestamp`` (bar start, ascending), float64
    open/high/low/close/volume plus any action/adjusted columns the source has.

    ``source``: a dataset name (see list_datasets) or a CSV/Parquet file or folder path.
    ``start``/``end``: inclusive UTC bounds (a date-only ``end`` includes that whole day).
    ``policy``: None loads without checks (duplicate timestamps still raise); ``reject`` /
    ``quarantine`` validate first (see load_checked). Symbols without rows are left out.
    """
    if policy is not None:
        return load_checked(
            source, symbols, start=start, end=end, root=root, policy=policy, checks=checks
        ).frames
    groups = read_source(source, symbols, root)
    out: dict[str, pd.DataFrame] = {}
    for sym, parts in groups.items():
        frame = assemble(parts, start, end)
        if len(frame):
            out[sym] = frame
    return out


def load_panel(
    source: str,
    symbols: Sequence[str] | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    root: Path | None = None,
    policy: Policy | None = None,
    checks: ValidationConfig | None = None,
    adjust: bool = False,
) -> Panel:
    """The frames of ``load_frames`` aligned on one time axis; ``adjust``: each frame as
    the engine trades it (``adjustments.tradable``: back-adjusted where it holds splits
    or dividends its prices do not reflect). ``policy="report"`` keeps every row and
    logs one warning naming the first bad one (file, line, field, rule) and the count."""
    if policy == "report":
        checked = load_checked(
            source, symbols, start=start, end=end, root=root, policy=policy, checks=checks
        )
        frames = checked.frames
        bad = checked.report.first_error()
        if bad is not None:
            log.warning(
                "%s; kept as they are (data.on_bad unset: reject stops on them, quarantine "
                "sets them aside)",
                bad,
            )
    else:
        frames = load_frames(
            source, symbols, start=start, end=end, root=root, policy=policy, checks=checks
        )
    if adjust:
        frames = {s: tradable(f) for s, f in frames.items()}
    if not frames:
        window = {
            (True, True): f"between {start} and {end}",
            (True, False): f"from {start} on",
            (False, True): f"up to {end}",
            (False, False): "at all",
        }[(start is not None, end is not None)]
        raise DataError(f"{source}: no bars {window}")
    return Panel.from_frames(frames)
