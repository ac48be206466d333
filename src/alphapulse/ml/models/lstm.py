"""LSTM over feature windows (see ``sequence`` for training)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from alphapulse.ml.models.sequence import SequenceModel


class _LSTMNet(nn.Module):
    """Stacked LSTM; head on the last hidden state."""

    def __init__(
        self, n_features: int, n_out: int, hidden: int, n_layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features,
            hidden,
            n_layers,
            batch_first=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)
        out: torch.Tensor = self.head(h[:, -1])
        return out


class LSTMModel(SequenceModel):
    """LSTM classifier/regressor on ``[rows, window, F]`` windows.

    Architecture params: ``hidden`` (32), ``n_layers`` (1); training params in
    ``sequence.TRAIN_DEFAULTS``.
    """

    @classmethod
    def arch_defaults(cls) -> dict[str, Any]:
        return {"hidden": 32, "n_layers": 1}

    def build_net(self, n_features: int, window: int, n_out: int) -> nn.Module:
        p = self._params
        return _LSTMNet(
            n_features, n_out, int(p["hidden"]), int(p["n_layers"]), float(p["dropout"])
        )
