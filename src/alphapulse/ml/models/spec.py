"""``ModelSpec`` (pydantic, from YAML/JSON configs) and ``build_model``.

``kind`` picks the class; ``params`` are its constructor arguments; ``members`` (ensembles
only) are the member specs. ``stacking`` accepts ``params.meta`` (a nested spec for the
meta-model) and ``params.n_splits``; ``voting``/``confidence`` accept ``params.weights``.
Torch models are imported only when a spec asks for them.

``window`` (sequence models only) is the input sequence length: the training and
prediction rows become ``[rows, window, F]`` windows ending at each row's own bar
(``windows.window_rows``). None (the default) gives ``[rows, F]`` rows, which a sequence
model reads as window 1. An ensemble takes ``window`` only when every member (at any
depth) is a sequence model; members then inherit it (a member's own ``window``, if set,
must be equal). An ensemble mixing row models (LightGBM, linear) with sequence models
cannot take a window (it runs on ``[rows, F]`` rows).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.core.bounds import Bars
from alphapulse.core.errors import ConfigError
from alphapulse.ml.models.base import Model, model_class

ModelKind = Literal[
    "lgbm_classifier",
    "lgbm_regressor",
    "lgbm_quantile",
    "logistic",
    "ridge",
    "transformer",
    "lstm",
    "voting",
    "confidence",
    "stacking",
]
CLASS_OF: dict[str, str] = {
    "lgbm_classifier": "LGBMClassifierModel",
    "lgbm_regressor": "LGBMRegressorModel",
    "lgbm_quantile": "LGBMQuantileModel",
    "logistic": "LogisticBaseline",
    "ridge": "RidgeBaseline",
    "transformer": "TransformerModel",
    "lstm": "LSTMModel",
    "voting": "VotingEnsemble",
    "confidence": "ConfidenceWeightedEnsemble",
    "stacking": "StackingEnsemble",
}
ENSEMBLES = frozenset({"voting", "confidence", "stacking"})
SEQUENCE = frozenset({"transformer", "lstm"})


class ModelSpec(BaseModel):
    """One model: ``kind``, ``params`` and, for ensembles, ``members``."""

    model_config = ConfigDict(extra="forbid")

    kind: ModelKind
    params: dict[str, Any] = Field(default_factory=dict)
    members: list[ModelSpec] = Field(default_factory=list)
    window: Bars | None = Field(None, ge=1)  # sequence models: bars per input window

    @model_validator(mode="after")
    def _members_match_kind(self) -> ModelSpec:
        if self.kind in ENSEMBLES and not self.members:
            raise ValueError(f"{self.kind}: members must list at least one model")
        if self.kind not in ENSEMBLES and self.members:
            raise ValueError(f"{self.kind}: only ensembles take members")
        nested = [m.kind for m in self.members]
        if self.kind == "stacking" and "meta" in self.params:
            nested.append(ModelSpec.model_validate(self.params["meta"]).kind)
        if "stacking" in nested:
            raise ValueError(
                f"{self.kind}: a nested stacking model is not supported (its meta-model"
                " needs purged folds, which only a top-level stacking model is given)"
            )
        if self.window is not None:
            if not self.is_sequence:
                raise ValueError(
                    f"{self.kind}: window needs sequence models (transformer, lstm); "
                    "an ensemble may not mix them with row models"
                )
            if any(m.window not in (None, self.window) for m in self.members):
                raise ValueError(f"{self.kind}: members' window must equal the ensemble's")
        elif any(m.window is not None for m in self.members):
            raise ValueError(f"{self.kind}: set window on the ensemble, not on its members")
        return self

    @property
    def is_sequence(self) -> bool:
        """A sequence model, or an ensemble whose members all are."""
        if self.kind in ENSEMBLES:
            return all(m.is_sequence for m in self.members)
        return self.kind in SEQUENCE


def build_model(spec: ModelSpec | dict[str, Any]) -> Model:
    """An unfitted model for ``spec``; bad params raise ``ConfigError``."""
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.model_validate(spec)
    cls = model_class(CLASS_OF[spec.kind])
    params = dict(spec.params)
    try:
        if spec.kind not in ENSEMBLES:
            return cls(**params)
        members = [build_model(m) for m in spec.members]
        if spec.kind == "stacking" and "meta" in params:
            params["meta"] = build_model(ModelSpec.model_validate(params["meta"]))
        return cls(members, **params)  # type: ignore[call-arg]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model {spec.kind}: {exc}") from None
