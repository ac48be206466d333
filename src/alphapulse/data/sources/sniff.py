"""Find a CSV file's header row and separator from its first lines.

Exports of one venue differ in banners (none, one or more lines) and separators, so a
spec's ``skip_rows``/``separator`` are only the first guess: the header is the first line
among the first ``SAMPLE_LINES`` that holds every required column name (case-insensitive).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alphapulse.core.errors import DataError

SEPARATORS = (",", ";", "\t", "|")
SAMPLE_LINES = 64


def head_lines(path: Path, n: int = SAMPLE_LINES) -> list[str]:
    """The first ``n`` lines of a text file (gzip by suffix), without line ends."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            lines = []
            for line in fh:
                lines.append(line.rstrip("\r\n"))
                if len(lines) >= n:
                    break
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"cannot read file: {exc}", path=str(path)) from exc
    return lines


def cells(line: str, sep: str) -> list[str]:
    """The fields of one line, trimmed and unquoted."""
    return [c.strip().strip('"').strip() for c in line.split(sep)]


@dataclass(frozen=True)
class Header:
    """Where the header is: lines before it, the separator, and file column -> spec name."""

    skip_rows: int
    separator: str
    rename: dict[str, str]


def find_header(
    path: Path,
    required: Iterable[Iterable[str]],
    wanted: Iterable[str],
    *,
    separator: str = ",",
    skip_rows: int = 0,
) -> Header:
    """The header of ``path``: the first line (the spec's ``skip_rows`` line first) whose
    fields, split by ``separator`` or another of SEPARATORS, hold one name of every group
    in ``required``. ``rename`` maps the file's spelling of each ``wanted`` name to it.
    DataError naming the file and quoting its first lines otherwise."""
    groups = [[n.lower() for n in g] for g in required]
    lines = head_lines(path)
    order = [skip_rows, *(i for i in range(len(lines)) if i != skip_rows)]
    seps = [separator, *(s for s in SEPARATORS if s != separator)]
    for i in (i for i in order if i < len(lines)):
        for sep in seps:
            fields = cells(lines[i], sep)
            lower = {f.lower() for f in fields}
            if all(any(n in lower for n in g) for g in groups):
                return Header(i, sep, _rename(fields, wanted))
    need = " and ".join("/".join(repr(n) for n in g) for g in required)
    seen = " | ".join(ln[:100] for ln in lines[:3])
    raise DataError(
        f"no header line with columns {need} in the first {len(lines)} lines"
        f" (separators {''.join(seps)!r}); the file begins: {seen!r}",
        path=str(path),
    )


def _rename(fields: list[str], wanted: Iterable[str]) -> dict[str, str]:
    """File field -> wanted name, for fields spelled in another case than the spec."""
    exact = set(fields)
    by_lower: dict[str, str] = {}
    for f in fields:
        by_lower.setdefault(f.lower(), f)
    out: dict[str, str] = {}
    for name in wanted:
        found = by_lower.get(name.lower())
        if name not in exact and found is not None:
            out[found] = name
    return out
