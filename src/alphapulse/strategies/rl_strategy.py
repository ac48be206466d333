"""Trades a policy registered by ``alphapulse rl train`` (``alphapulse.rl``) through the
one engine, deterministically, in backtests and paper trading.

The policy is loaded once from the registry (artifacts read only after their SHA-256
matches; weights with ``torch.load(weights_only=True)``). Every bar the incremental
``FeatureState`` takes the new bars (equal to the batch features the environment
trained on); from ``start`` on, the observation (``rl.observe``: features of this bar
and the book seen at the previous bar) goes to the policy and its action becomes
Signals. A bar inside the policy's training or validation window is refused
(``ml.integrity``: a ConfigError naming the policy and both times) unless
``allow_in_sample``. A feature set or symbol count the policy was not trained on stops
with a ConfigError naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field

from alphapulse.core.errors import ConfigError
from alphapulse.data.raw import utc_timestamp
from alphapulse.engine.context import Context
from alphapulse.features import FeatureSetConfig, FeatureState
from alphapulse.ml.integrity import TrainingSpan
from alphapulse.ml.training import RegistryConfig
from alphapulse.model.signals import Signals
from alphapulse.strategies.base import Strategy, StrategyParams


class RLStrategy(Strategy):
    class Params(StrategyParams):
        policy: str = "rl-policy"  # registered name
        version: int | str = Field("latest")
        registry: RegistryConfig = Field(default_factory=RegistryConfig)
        features: FeatureSetConfig | None = None  # must equal the policy's when given
        start: str | None = None  # bars before it only feed the features (UTC)
        allow_in_sample: bool = False

    def __init__(self, params: StrategyParams | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        from alphapulse.rl.observe import account_state
        from alphapulse.rl.registry import load_registered_policy

        self.policy, self.metadata, what = load_registered_policy(
            self.p.policy, self.p.version, self.p.registry
        )
        trained = self.policy.env.feature_set()
        given = self.p.features
        if given is not None and given.model_dump(mode="json") != trained.model_dump(mode="json"):
            raise ConfigError(
                f"{what} was trained on feature set {trained.name!r} v{trained.version}; "
                f"params.features {given.name!r} v{given.version} differs (drop it)"
            )
        self.span = TrainingSpan.from_metadata(self.metadata, what)
        self.what = what
        self._start = int(utc_timestamp(self.p.start).value) if self.p.start else None
        self._state: FeatureState | None = None
        # the book seen at the previous bar, copied: the engine rewrites its Context in place
        self._account: npt.NDArray[np.float64] = account_state(None, self.policy.n_symbols)
        self.n_in_sample = 0

    def on_bar(self, ctx: Context) -> Signals | None:
        from alphapulse.rl.observe import account_state, clean_features, observation, to_signals

        pol = self.policy
        if self._state is None:
            if ctx.n_symbols != pol.n_symbols:
                raise ConfigError(
                    f"{self.what} was trained on {pol.n_symbols} symbols, the run has "
                    f"{ctx.n_symbols} ({', '.join(ctx.symbols)})"
                )
            self._state = FeatureState(pol.env.feature_set(), ctx.symbols)
        row = {k: ctx.field(k, 1)[-1] for k in ("open", "high", "low", "close", "volume")}
        feats = self._state.update(row, ctx.ts_ns)
        prev, self._account = self._account, account_state(ctx, pol.n_symbols)
        if self._start is not None and ctx.ts_ns < self._start:
            return None
        if self.span is not None and self.span.guard(ctx.ts_ns, self.p.allow_in_sample):
            self.n_in_sample += 1
        obs = observation(clean_features(feats, pol.env.clip), prev, pol.env.clip)
        return to_signals(np.asarray(pol.act(obs)), pol.env, pol.n_symbols)
