"""YAML as configs read it: safe (no Python objects), dates left as text, no duplicate
keys, and bounded: nesting and alias expansion past a config's needs are YAML errors."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import CollectionNode, MappingNode, Node

#: Collections nested deeper than this are refused (deeper ones overflow the parser's stack).
MAX_DEPTH = 64
#: Values a document may expand to, aliases counted as copies ("billion laughs").
MAX_VALUES = 1_000_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class PlainDatesLoader(yaml.SafeLoader):
    """YAML's safe loader with dates and times left as the strings written: the fields
    that take them parse them (an unquoted ``2016-01-01`` is the string a field expects,
    and ``2016-13-45`` an error naming the field, not a traceback from the parser).
    A key given twice in one mapping, nesting past :data:`MAX_DEPTH` and aliases
    expanding past :data:`MAX_VALUES` values are YAML errors with their line."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nesting = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.nesting >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self.nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.nesting -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is None:
            return None
        values, depth = extent(node, {})
        if values > MAX_VALUES:
            what = f"aliases expand to more than {MAX_VALUES:,} values"
            raise ComposerError(None, None, what, node.start_mark)
        if depth > MAX_DEPTH:
            what = f"aliases nest deeper than {MAX_DEPTH} levels"
            raise ComposerError(None, None, what, node.start_mark)
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        if isinstance(node, MappingNode):  # the base class names any other node
            self.refuse_repeated_keys(node)
        return super().construct_mapping(node, deep=deep)

    def refuse_repeated_keys(self, node: MappingNode) -> None:
        """A ConstructorError at the second of two equal keys written in ``node`` (keys
        merged in with ``<<`` may be overridden: that is what merging is for)."""
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class says it is unhashable
            if key in seen:
                problem = f"found duplicate key {key!r}"
                mark = key_node.start_mark
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark, problem, mark
                )
            seen.add(key)


PlainDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def extent(node: Node, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(values, nesting depth) of ``node`` with every alias copied out; ``memo`` by id.
    An alias is visited after its anchor (document order), so this recursion is only as
    deep as the text's own nesting; a node inside itself (``&a [*a]``) is endless."""
    key = id(node)
    if key not in memo:
        memo[key] = (MAX_VALUES + 1, MAX_DEPTH + 1)  # while open: reached again = a cycle
        children: list[Node] = []
        if isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, CollectionNode):
            children = list(node.value)
        sizes = [extent(child, memo) for child in children]
        memo[key] = (1 + sum(v for v, _ in sizes), 1 + max((d for _, d in sizes), default=0))
    return memo[key]


def load_yaml(text: str) -> Any:
    """``text`` parsed by :class:`PlainDatesLoader` (safe: no Python objects)."""
    return yaml.load(text, Loader=PlainDatesLoader)  # a SafeLoader
