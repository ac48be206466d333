"""Every ``tests/...py``, ``benchmarks/...py`` and ``src/...`` path cited in docs/*.md,
README.md and the package's source exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITED = re.compile(r"(?<![\w/.-])((?:tests|benchmarks)/[\w/.-]+?\.py|src/[\w/.-]*[\w/])")


def cited_paths(text: str) -> set[str]:
    """The repository paths cited in ``text``."""
    return {m.rstrip("/.") for m in CITED.findall(text)}


def _sources() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return files + sorted((ROOT / "src").rglob("*.py"))


def test_cited_paths_exist() -> None:
    missing = [
        f"{src.relative_to(ROOT)}: {path}"
        for src in _sources()
        for path in sorted(cited_paths(src.read_text(encoding="utf-8")))
        if not (ROOT / path).exists()
    ]
    assert not missing, missing


def test_the_scan_finds_citations_and_would_catch_a_missing_one() -> None:
    text = "see `tests/engine/test_lookahead.py` and src/alphapulse/ml/integrity.py."
    assert cited_paths(text) == {"tests/engine/test_lookahead.py", "src/alphapulse/ml/integrity.py"}
    assert not (ROOT / "tests/engine/test_lookahead.py").exists()
    found = set().union(*(cited_paths(p.read_text(encoding="utf-8")) for p in _sources()))
    assert "tests/sweep/test_sweep_parity.py" in found and len(found) > 15
