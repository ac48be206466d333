"""A paper session's identity: the hash of its canonical config, stored at the first
start (``paper_sessions``); a restart with a config that would trade differently is
refused with the differing keys, so two configs never mix in one session's runs.

Canonical config: the parsed config as JSON without :data:`IGNORED`, the keys that
change how a session runs but not what it trades: replay pacing, where the bus/database
are, polling and backoff timing, the API-switch poll interval, ``workers`` and the
session name itself. The hash leaves out values equal to their defaults, so a key
spelled out with its default value, or a new optional key in a later version, changes
nothing; the stored JSON keeps them, to name old -> new values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from sqlalchemy import Connection, select

from alphapulse.config import BacktestConfig, PaperConfig
from alphapulse.core.errors import ConfigError
from alphapulse.store import Store
from alphapulse.store.engine import run_tx
from alphapulse.store.schema import TABLES

IGNORED: Final = frozenset(
    {
        "workers",
        "paper.speed",
        "paper.bus",
        "paper.db_url",
        "paper.persist",
        "paper.session",
        "paper.control_interval",
        "paper.poll_interval",
        "paper.max_backoff",
    }
)
_SHOWN = 6  # differing keys named in the message


class SessionConfigError(ConfigError):
    """A session was resumed with a config that differs from the one it started with."""


def canonical_config(cfg: BacktestConfig, *, defaults: bool = True) -> dict[str, Any]:
    """The config as JSON without :data:`IGNORED` keys (nor defaults: ``defaults=False``)."""
    raw = cfg.model_dump(mode="json", exclude_defaults=not defaults)
    paper = cfg.paper or PaperConfig()
    raw["paper"] = paper.model_dump(mode="json", exclude_defaults=not defaults)
    for dotted in IGNORED:
        parent, _, leaf = dotted.rpartition(".")
        node = raw.get(parent) if parent else raw
        if isinstance(node, dict):
            node.pop(leaf, None)
    return raw


def config_hash(canonical: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths of every leaf (list items by index)."""
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list) and value:
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in items:
        out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return out


def config_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every differing leaf, sorted by key (a key one side lacks
    and the other has as null is a schema change, not a difference)."""
    a, b = flatten(old), flatten(new)
    missing = "(unset)"
    return [
        f"{k}: {json.dumps(a.get(k, missing))} -> {json.dumps(b.get(k, missing))}"
        for k in sorted(a.keys() | b.keys())
        if a.get(k, missing) != b.get(k, missing)
        and ((k in a and k in b) or (a[k] if k in a else b[k]) is not None)
    ]


def check_session_config(store: Store, session: str, cfg: BacktestConfig) -> bool:
    """Record the session's config at its first start (True), or check a restart's
    config against it (False); a different config raises :class:`SessionConfigError`."""
    canonical = canonical_config(cfg)
    digest = config_hash(canonical_config(cfg, defaults=False))
    table = TABLES["paper_sessions"]

    def check(conn: Connection) -> bool:
        row = conn.execute(select(table).where(table.c.session == session)).mappings().first()
        if row is None:
            conn.execute(
                table.insert().values(session=session, config_hash=digest, config=canonical)
            )
            return True
        if row["config_hash"] != digest:
            changes = config_changes(row["config"], canonical) or ["(keys equal, hash differs)"]
            shown = "; ".join(changes[:_SHOWN])
            more = f"; and {len(changes) - _SHOWN} more" if len(changes) > _SHOWN else ""
            raise SessionConfigError(
                f"paper session {session!r} was started with another config ({shown}{more}); "
                "resume it with its original config, or start a new session with "
                "--session NEW_NAME"
            )
        return False

    return run_tx(store.engine, check, attempts=1)
