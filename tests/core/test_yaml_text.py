"""Config YAML is bounded and unambiguous: a repeated key, deep nesting and alias bombs
are YAML errors (with their line), never a silent choice, a RecursionError or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alphapulse.core.yaml_text import load_yaml


def _laughs(levels: int) -> str:
    """The "billion laughs" document: each level lists the previous one nine times."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_repeated_key_is_an_error_naming_it_and_its_line() -> None:
    with pytest.raises(yaml.YAMLError) as exc:
        load_yaml("name: a\ndata: {}\nname: b\n")
    assert "duplicate key 'name'" in str(exc.value)
    assert exc.value.problem_mark.line + 1 == 3  # type: ignore[attr-defined]
    with pytest.raises(yaml.YAMLError, match="duplicate key 'fast'"):
        load_yaml("params: {fast: 5, slow: 20, fast: 10}\n")


def test_merge_keys_may_still_be_overridden() -> None:
    """YAML's ``<<`` merge: keys written beside it override the merged ones."""
    doc = load_yaml("base: &b {fast: 5, slow: 20}\nrun: {<<: *b, fast: 10}\n")
    assert doc["run"] == {"fast": 10, "slow": 20}


def test_deep_nesting_is_an_error_not_a_recursion_error() -> None:
    with pytest.raises(yaml.YAMLError, match="nested deeper than"):
        load_yaml("[" * 10_000 + "]" * 10_000)
    block = "".join("  " * i + f"k{i}:\n" for i in range(1_000)) + "  " * 1_000 + "v\n"
    with pytest.raises(yaml.YAMLError, match="nested deeper than"):
        load_yaml(block)
    assert load_yaml("[" * 30 + "1" + "]" * 30) is not None  # far deeper than configs go


def test_alias_bombs_are_refused_small_aliases_load() -> None:
    with pytest.raises(yaml.YAMLError, match="aliases expand to more than"):
        load_yaml(_laughs(9))  # 9**9 strings
    assert len(load_yaml(_laughs(3))["l2"]) == 9  # 9**3 strings: fine
    with pytest.raises(yaml.YAMLError, match="aliases expand"):
        load_yaml("a: &a [1, *a]\n")  # a list inside itself expands without end


def test_aliases_cannot_nest_past_the_limit() -> None:
    """Each anchor nests 40 levels and holds the previous one at its bottom: the text
    is shallow, the value is 40 x 10 levels deep."""
    lines = [f"a0: &a0 {'[' * 40}1{']' * 40}"]
    lines += [f"a{i}: &a{i} {'[' * 40}*a{i - 1}{']' * 40}" for i in range(1, 10)]
    with pytest.raises(yaml.YAMLError, match="aliases nest deeper than"):
        load_yaml("\n".join(lines))


def test_python_tags_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor"):
        load_yaml(text)
    assert not marker.exists()
