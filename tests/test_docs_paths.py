"""Every ``tests/...py``, ``benchmarks/...py`` and ``src/...`` path cited in docs/*.md,
README.md and the package's source exists, and every ``--option`` the docs give to an
``alphapulse`` command or a benchmark script is one that command or script takes."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from alphapulse.cli import app

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


FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INVOCATION = re.compile(r"\b(alphapulse|bench_\w+\.py)((?:\s+[a-z][\w-]*)*)([^`|]*)")
OPTION = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def _units(text: str) -> list[str]:
    """The lines of fenced blocks (``\\`` continuations joined), the inline code spans
    (which may wrap) and the prose lines of ``text``."""
    blocks = [b.replace("\\\n", " ") for b in FENCE.findall(text)]
    prose = FENCE.sub("", text)
    spans = prose.split("`")[1::2]
    return [ln for b in blocks for ln in b.splitlines()] + spans + prose.splitlines()


def _cli_options() -> dict[str, set[str]]:
    """``"alphapulse data import"`` -> the options it takes (``--help`` included)."""
    out: dict[str, set[str]] = {}

    def walk(cmd: object, path: str) -> None:
        params = getattr(cmd, "params", [])
        out[path] = {"--help"} | {o for p in params for o in (*p.opts, *p.secondary_opts)}
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "alphapulse")
    return out


def unknown_options(text: str) -> set[str]:
    """``"<command>: --option"`` for each option ``text`` gives to an ``alphapulse``
    command or a ``benchmarks/bench_*.py`` script that it does not take."""
    cli = _cli_options()
    bad: set[str] = set()
    for unit in _units(text):
        for prog, words, rest in INVOCATION.findall(unit):
            if prog == "alphapulse":
                path, left = "alphapulse", words.split()
                while left and f"{path} {left[0]}" in cli:
                    path = f"{path} {left.pop(0)}"
                if path == "alphapulse":  # prose ("the alphapulse package"), not a command
                    continue
                known = cli[path]
            else:
                script = ROOT / "benchmarks" / prog
                path, known = prog, set(OPTION.findall(script.read_text(encoding="utf-8")))
            bad |= {f"{path}: {o}" for o in OPTION.findall(words + rest) if o not in known}
    return bad


def test_documented_options_exist() -> None:
    bad = [
        f"{src.relative_to(ROOT)}: {b}"
        for src in _sources()
        if src.suffix == ".md"
        for b in sorted(unknown_options(src.read_text(encoding="utf-8")))
    ]
    assert not bad, bad


def test_the_option_scan_would_catch_a_wrong_one() -> None:
    text = (
        "Run `alphapulse data import X --symbol AAPL\n--on-bad quarantine` or\n"
        "```bash\n.venv/bin/alphapulse backtest run.yaml \\\n    --wrokers 2 --no-baseline\n```\n"
        "then `bench_rl_env.py --steps 10 --stepz 3` and `alphapulse data imprt --symbol A`."
    )
    assert unknown_options(text) == {
        "alphapulse backtest: --wrokers",
        "bench_rl_env.py: --stepz",
        "alphapulse data: --symbol",
    }
