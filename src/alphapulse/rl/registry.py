"""Registered RL policies: ``ModelRegistry.load_with`` verifies the artifacts' SHA-256
before ``rl.policy.load_policy`` reads them (tensors only)."""

from __future__ import annotations

from typing import Any

from alphapulse.core.errors import ConfigError
from alphapulse.ml.training import RegistryConfig
from alphapulse.rl.policy import Policy, load_policy


def load_registered_policy(
    name: str, version: int | str, where: RegistryConfig
) -> tuple[Policy, dict[str, Any], str]:
    """(policy, metadata, "registry policy 'name' version v"); ConfigError when missing,
    altered or not an RL policy."""
    from alphapulse.ml.registry import ModelRegistry

    what = f"registry policy {name!r} version {version}"
    if version != "latest" and not str(version).isdigit():
        raise ConfigError(f"{what}: version must be a number or 'latest'")
    ver: Any = "latest" if version == "latest" else int(version)
    try:
        policy, meta = ModelRegistry(where.tracking_uri, root=where.root).load_with(
            load_policy, name, ver
        )
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise ConfigError(f"{what}: {exc.args[0] if exc.args else exc}") from None
    return policy, meta, what
