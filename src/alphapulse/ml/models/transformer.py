"""Small Transformer encoder over feature windows (see ``sequence`` for training)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from alphapulse.ml.models.sequence import SequenceModel


class _TransformerNet(nn.Module):
    """Linear embedding + learned positions + pre-norm encoder; head on the last step."""

    def __init__(
        self,
        n_features: int,
        window: int,
        n_out: int,
        d_model: int,
        n_heads: int,
        n_layers: int,
        dim_feedforward: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(n_features, d_model)
        self.pos = nn.Parameter(torch.randn(1, window, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x) + self.pos)
        out: torch.Tensor = self.head(self.norm(h[:, -1]))
        return out


class TransformerModel(SequenceModel):
    """Transformer encoder classifier/regressor on ``[rows, window, F]`` windows.

    Architecture params: ``d_model`` (32), ``n_heads`` (4), ``n_layers`` (2),
    ``dim_feedforward`` (64); training params in ``sequence.TRAIN_DEFAULTS``.
    """

    @classmethod
    def arch_defaults(cls) -> dict[str, Any]:
        return {"d_model": 32, "n_heads": 4, "n_layers": 2, "dim_feedforward": 64}

    def build_net(self, n_features: int, window: int, n_out: int) -> nn.Module:
        p = self._params
        return _TransformerNet(
            n_features,
            window,
            n_out,
            int(p["d_model"]),
            int(p["n_heads"]),
            int(p["n_layers"]),
            int(p["dim_feedforward"]),
            float(p["dropout"]),
        )
