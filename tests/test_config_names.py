"""Strategy names become output directories: only plain file names are accepted."""

from __future__ import annotations

import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError


def config(name: str) -> dict[str, object]:
    return {"data": {"source": "x"}, "strategies": [{"strategy": "buy_and_hold", "name": name}]}


@pytest.mark.parametrize(
    "name", ["../../x", "/tmp/abs", "..", ".", "a/../../b", "x\\..\\y", ".hidden", "", "a" * 65]
)
def test_names_that_escape_out_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"strategies\.0\.name: .*plain file name"):
        parse_config(config(name), "run.yaml")


@pytest.mark.parametrize("name", ["sma_20_100", "a", "v1.2-b", "A" * 64])
def test_plain_names_are_kept(name: str) -> None:
    assert parse_config(config(name)).strategies[0].label == name
