"""The risk stage's reaction to market anomalies (``anomalies.reaction``): an anomaly of
at least ``min_severity`` in a symbol blocks new risk in it for ``bars`` bars (orders may
only reduce), and with ``action: flatten`` also closes the position. Every reaction is a
risk event (``anomaly_block`` / ``anomaly_flatten``). The detector runs bar by bar on the
bars the risk stage sees, so it needs no other input and costs nothing when unset."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from alphapulse.anomaly.config import AnomalyConfig, Severity
from alphapulse.anomaly.detector import AnomalyDetector
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.stages import RiskEvent


class AnomalyReaction:
    """Per-symbol blocks (and flattens) triggered by anomalies; see the module doc."""

    def __init__(self, cfg: AnomalyConfig, symbols: tuple[str, ...]) -> None:
        if cfg.reaction is None:
            raise ValueError("anomalies.reaction is not set")
        self.cfg = cfg.reaction
        self.symbols = symbols
        self._sid = {s: i for i, s in enumerate(symbols)}
        self.detector = AnomalyDetector(cfg, symbols)
        self.min_severity = int(Severity.parse(self.cfg.min_severity))
        self.types = set(self.cfg.types) if self.cfg.types is not None else None
        self.blocked_until = np.full(len(symbols), -1, dtype=np.int64)

    def on_bar(self, bar: BarSlice) -> tuple[list[RiskEvent], list[int]]:
        """This bar's reaction events and the symbols to flatten."""
        found = self.detector.update(bar.ts_ns, bar.open, bar.close, bar.volume, self.min_severity)
        events: list[RiskEvent] = []
        flatten: list[int] = []
        kind = "anomaly_" + self.cfg.action
        for a in found:
            if not a.symbol or (self.types is not None and a.type not in self.types):
                continue  # market-wide moves name no symbol to block
            sid = self._sid[a.symbol]
            fresh = self.blocked_until[sid] < bar.t
            self.blocked_until[sid] = max(self.blocked_until[sid], bar.t + self.cfg.bars - 1)
            if not fresh:
                continue  # already reacting to this symbol: one event per episode
            if self.cfg.action == "flatten":
                flatten.append(sid)
            detail = f"{a.message}; blocked until bar {self.blocked_until[sid]}"
            events.append(
                RiskEvent(bar.ts_ns, kind, f"{a.type}:{a.severity.name}", a.symbol, detail=detail)
            )
        return events, flatten

    def blocked(self, t: int) -> npt.NDArray[np.bool_]:
        """Symbols in which new risk is blocked at step ``t``."""
        return self.blocked_until >= t

    def frozen(self, t: int, weights: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Targets to drop at step ``t``: every blocked symbol's, except an exit (0) under
        ``block`` (under ``flatten`` the flatten order must not be replaced)."""
        out = self.blocked(t)
        if self.cfg.action == "block":
            out &= weights != 0.0
        return out
