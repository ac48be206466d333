"""JSON-schema hooks of ``POST /runs`` (``api/run_request.py``): the server's dataset and
strategy names, and each strategy's own ``params`` (a ``oneOf`` keyed by ``strategy``),
read when the OpenAPI document is built, so the schema describes what the server accepts.
Cross-field rules (``fast < slow``, unique labels) stay documented ``422``s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from alphapulse.core.errors import ConfigError

Schema = dict[str, Any]


def datasets() -> list[str]:
    """Dataset names of the server's catalog."""
    from alphapulse.data.catalog import list_datasets

    return list_datasets()


def strategies() -> list[str]:
    """Registered strategy names (entry points)."""
    from alphapulse.strategies.registry import available_strategies

    return available_strategies()


def time_zones() -> list[str]:
    """The IANA time-zone names this server knows."""
    from zoneinfo import available_timezones

    return sorted(available_timezones())


def enum_of(values: Callable[[], list[str]]) -> Callable[[dict[str, JsonValue]], None]:
    """A JSON-schema hook listing the server's ``values``."""

    def extra(schema: dict[str, JsonValue]) -> None:
        schema["enum"] = list[JsonValue](values())

    return extra


def inline_refs(schema: Schema) -> Schema:
    """``schema`` with its local ``#/$defs/...`` references replaced by their targets (so
    it can be embedded in another document); a reference inside itself (a recursive
    model) becomes ``{}``: the server still validates it."""
    defs: Schema = schema.get("$defs", {})

    def walk(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                rest = {k: v for k, v in node.items() if k != "$ref"}
                target = {} if name in seen else walk(defs[name], seen | {name})
                return {**target, **walk(rest, seen)}
            return {k: walk(v, seen) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        return node

    out: Schema = walk(schema, frozenset())
    return out


def without_keys(schema: Any, keys: frozenset[str]) -> Any:
    """``schema`` with the object properties named in ``keys`` removed (at any depth)."""
    if isinstance(schema, list):
        return [without_keys(v, keys) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: without_keys(v, keys) for k, v in schema.items()}
    props = out.get("properties")
    if isinstance(props, dict) and out.get("type") == "object":
        out["properties"] = {k: v for k, v in props.items() if k not in keys}
        out["required"] = [k for k in out.get("required", []) if k not in keys]
        if not out["required"]:
            del out["required"]
    return out


def params_schemas(forbidden: frozenset[str]) -> dict[str, Schema]:
    """Each loadable registered strategy's ``Params`` schema (``forbidden`` keys left
    out, since the API refuses them)."""
    from alphapulse.strategies.registry import strategy_class

    out = {}
    for name in strategies():
        try:
            cls = strategy_class(name)
        except ConfigError:
            continue
        out[name] = without_keys(inline_refs(cls.Params.model_json_schema()), forbidden)
    return out


def per_strategy(forbidden: frozenset[str]) -> Callable[[Schema], None]:
    """A JSON-schema hook turning a ``RunStrategy`` object into a ``oneOf`` with one
    branch per strategy, whose ``params`` are that strategy's own."""

    def extra(schema: Schema) -> None:
        props: Schema = schema.pop("properties")
        required = schema.pop("required", [])
        branches = [
            {
                "type": "object",
                "title": name,
                "properties": {
                    **props,
                    "strategy": {"type": "string", "const": name},
                    "params": params,
                },
                "required": required,
                "additionalProperties": False,
            }
            for name, params in params_schemas(forbidden).items()
        ]
        schema.pop("additionalProperties", None)
        schema.pop("type", None)
        schema["oneOf"] = branches

    return extra
