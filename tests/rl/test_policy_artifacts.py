"""A registered policy is self-contained: its feature set is read from the artifacts the
registry hashed, never from a file that ``policy.json`` names (principle 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alphapulse.core.errors import ConfigError
from alphapulse.ml.registry import ModelRegistry
from alphapulse.ml.training import RegistryConfig
from alphapulse.rl.config import EnvConfig, rl_feature_set
from alphapulse.rl.policy import SPEC_FILE, Policy, build_network
from alphapulse.rl.registry import load_registered_policy

N_FEATURES = 4


def _policy(features: str) -> Policy:
    env = EnvConfig(features=features)
    net = build_network("ppo", env, 1, N_FEATURES, [8])
    return Policy("ppo", env, 1, N_FEATURES, [8], net)


def _metadata() -> dict[str, object]:
    fs = rl_feature_set()
    return {
        "feature_set": fs.name,
        "feature_set_version": fs.version,
        "train_start": "2020-01-01",
        "train_end": "2020-06-30",
        "data_hash": "sha256:0",
    }


class _NamingAFile:
    """A policy whose ``policy.json`` names its feature-set file, as saved before."""

    kind = "rl_policy"

    def __init__(self, policy: Policy, file: Path) -> None:
        self.policy, self.file = policy, file

    def save(self, path: Path | str) -> None:
        self.policy.save(path)
        spec_path = Path(path) / SPEC_FILE
        spec = json.loads(spec_path.read_text())
        spec["env"]["features"] = str(self.file)
        spec_path.write_text(json.dumps(spec))


@pytest.fixture
def feature_file(tmp_path: Path) -> Path:
    path = tmp_path / "features.yaml"
    path.write_text(yaml.safe_dump(rl_feature_set().model_dump(mode="json")))
    return path


def test_feature_set_file_changed_after_registration_is_not_read(
    tmp_path: Path, feature_file: Path
) -> None:
    where = RegistryConfig(root=str(tmp_path / "mlruns"))
    ModelRegistry(root=where.root).register(_policy(str(feature_file)), "p", _metadata())
    fs = rl_feature_set()
    other = fs.model_copy(update={"name": "swapped", "features": fs.features[:1]})
    feature_file.write_text(yaml.safe_dump(other.model_dump(mode="json")))

    policy, _, _ = load_registered_policy("p", "latest", where)

    assert policy.env.feature_set() == rl_feature_set()


def test_policy_json_naming_a_file_is_refused(tmp_path: Path, feature_file: Path) -> None:
    where = RegistryConfig(root=str(tmp_path / "mlruns"))
    artifact = _NamingAFile(_policy("rl_small"), feature_file)
    ModelRegistry(root=where.root).register(artifact, "p", _metadata())

    with pytest.raises(ConfigError, match=r"policy\.json: env\.features names a file"):
        load_registered_policy("p", "latest", where)
