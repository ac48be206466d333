"""YAML as configs read it: safe (no Python objects) and with dates left as text."""

from __future__ import annotations

from typing import Any

import yaml


class PlainDatesLoader(yaml.SafeLoader):
    """YAML's safe loader with dates and times left as the strings written: the fields
    that take them parse them (an unquoted ``2016-01-01`` is the string a field expects,
    and ``2016-13-45`` an error naming the field, not a traceback from the parser)."""


PlainDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """``text`` parsed by :class:`PlainDatesLoader` (safe: no Python objects)."""
    return yaml.load(text, Loader=PlainDatesLoader)  # a SafeLoader
