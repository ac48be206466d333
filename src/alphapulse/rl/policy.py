"""A trained policy as plain data: the Stable-Baselines3 policy network's ``state_dict``
(``policy.pt``, tensors only) and a JSON spec (``policy.json``: algorithm, spaces,
network sizes, environment settings). Loading rebuilds the SB3 policy class from the
spec (an allow-list of algorithms, never an import path from the file) and reads the
weights with ``torch.load(weights_only=True)``, which refuses anything but tensors and
plain containers: no pickled code is ever run. SB3's own ``.zip`` is not used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from alphapulse.rl.config import EnvConfig
from alphapulse.rl.observe import Obs, action_space, observation_space

SPEC_FILE, WEIGHTS_FILE = "policy.json", "policy.pt"
FORMAT_VERSION = 1


def policy_class(algo: str) -> Any:
    """The SB3 ``MlpPolicy`` class of ``algo`` (ppo, a2c, sac)."""
    from stable_baselines3 import A2C, PPO, SAC

    known = {"ppo": PPO, "a2c": A2C, "sac": SAC}
    if algo not in known:
        raise ValueError(f"unknown RL algorithm {algo!r}; known: {', '.join(known)}")
    algo_cls: Any = known[algo]
    return algo_cls.policy_aliases["MlpPolicy"]


@dataclass
class Policy:
    """A policy network with what it needs to decide: the environment settings (action
    kind, features, clipping) and the number of symbols and features it was built for."""

    algo: str
    env: EnvConfig
    n_symbols: int
    n_features: int
    net_arch: list[int]
    network: Any  # the SB3 BasePolicy
    kind: str = "rl_policy"

    def act(self, obs: Obs) -> Any:
        """The deterministic action for one observation."""
        action, _ = self.network.predict(obs, deterministic=True)
        return action

    def spaces(self) -> tuple[gym.spaces.Box, gym.spaces.Space[Any]]:
        obs = observation_space(self.n_symbols, self.n_features, self.env.clip)
        return obs, action_space(self.env, self.n_symbols)

    def save(self, path: Path | str) -> None:
        """Write ``policy.json`` and ``policy.pt`` into the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        spec = {
            "format": FORMAT_VERSION,
            "algo": self.algo,
            # the feature set inline: a file it names would lie outside the artifacts' hash
            "env": {**self.env.model_dump(mode="json"), "features": self._features()},
            "n_symbols": self.n_symbols,
            "n_features": self.n_features,
            "net_arch": self.net_arch,
        }
        (path / SPEC_FILE).write_text(json.dumps(spec, indent=1))
        state = {k: v.detach().cpu().clone() for k, v in self.network.state_dict().items()}
        torch.save(state, path / WEIGHTS_FILE)

    def _features(self) -> Any:
        """``env.features`` as JSON: "rl_small" or the feature set's definition."""
        f = self.env.features
        return f if f == "rl_small" else self.env.feature_set().model_dump(mode="json")

    @classmethod
    def from_model(cls, model: Any, algo: str, env: EnvConfig, n_symbols: int,
                   n_features: int, net_arch: list[int]) -> Policy:  # fmt: skip
        """Wrap a trained SB3 algorithm's policy."""
        return cls(algo, env, n_symbols, n_features, list(net_arch), model.policy)


def build_network(algo: str, env: EnvConfig, n_symbols: int, n_features: int,
                  net_arch: list[int]) -> Any:  # fmt: skip
    """An untrained SB3 policy network for these spaces (CPU, eval mode)."""
    obs = observation_space(n_symbols, n_features, env.clip)
    net = policy_class(algo)(
        obs, action_space(env, n_symbols), lambda _: 0.0, net_arch=list(net_arch)
    )
    return net.to("cpu").eval()


def load_policy(path: Path | str) -> Policy:
    """A policy saved by ``Policy.save`` (tensors only: ``torch.load(weights_only=True)``)."""
    path = Path(path)
    spec = json.loads((path / SPEC_FILE).read_text())
    if spec.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported policy format {spec.get('format')!r}")
    env = EnvConfig.model_validate(spec["env"])
    if isinstance(env.features, str) and env.features != "rl_small":
        raise ValueError(
            f"{SPEC_FILE}: env.features names a file ({env.features!r}) outside the"
            " policy's artifacts (not covered by their hash); register the policy again"
        )
    n, f, arch = int(spec["n_symbols"]), int(spec["n_features"]), list(spec["net_arch"])
    net = build_network(str(spec["algo"]), env, n, f, arch)
    state = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.set_training_mode(False)
    return Policy(str(spec["algo"]), env, n, f, arch, net)
