"""The per-strategy ``POST /runs`` schema helpers: refs inlined (recursion cut), server-only
keys dropped, strict JSON params."""

from __future__ import annotations

from typing import Any

from alphapulse.api.run_request import RunRequest
from alphapulse.api.run_schema import inline_refs, without_keys


def test_inline_refs_cuts_recursion() -> None:
    tree = {
        "$defs": {"Node": {"type": "object", "properties": {"kids": {"$ref": "#/$defs/Node"}}}},
        "$ref": "#/$defs/Node",
    }
    out = inline_refs(tree)
    assert out == {"type": "object", "properties": {"kids": {}}}


def test_without_keys_drops_properties_and_requirements() -> None:
    schema = {"type": "object", "properties": {"root": {}, "a": {}}, "required": ["root"]}
    assert without_keys(schema, frozenset({"root"})) == {"type": "object", "properties": {"a": {}}}


def _body(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {"source": "sp500_daily_2013_2018", "start": "0001-01-01"},
        "strategies": [{"strategy": "sma_cross", "params": params}],
    }


def test_params_are_strict_json_and_dates_clamped() -> None:
    ok = RunRequest.model_validate(_body({"fast": 5, "slow": 20})).to_config()
    assert ok.data.start == "1677-09-22T00:00:00+00:00"
    for bad in ({"fast": "5"}, {"fast": True}, {"fast": 5.5}):
        try:
            RunRequest.model_validate(_body(bad))
        except ValueError as exc:
            assert "params.fast" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")
