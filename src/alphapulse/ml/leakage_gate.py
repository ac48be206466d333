"""The leakage gate of ``alphapulse research`` and ``alphapulse train``: the checks of
``ml.leakage`` run on every feature set, their verdict goes at the top of the report
and into the registry metadata, and a failed check stops the run (``LeakageError``, one
line naming the feature and the check) unless ``leakage: {override: true}``.

Checks: ``canary`` (features recomputed with every bar after a cutoff perturbed; a
value at or before it that changes saw the future), ``future_ic`` (a feature's rank IC
with the label that starts at t against the one that ended at t: ``feature_ic_check``)
and ``accuracy`` (an out-of-sample hit rate / accuracy implausibly far above chance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.ml.leakage import canary, feature_ic_check, implausible

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class LeakageConfig(BaseModel):
    """Thresholds of the gate; ``override`` runs on after a failed check (still
    reported)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    override: bool = False
    max_ic: float = Field(0.3, gt=0, le=1)  # |future IC| at or above: leaked
    min_ic: float = Field(0.2, gt=0, le=1)  # ... or above this and > ratio x |past IC|
    ratio: float = Field(2.0, gt=0)
    max_edge: float = Field(0.1, gt=0, le=0.5)  # accuracy above 0.5 + max_edge: leaked
    canary: bool = True


class LeakageError(ConfigError):
    """A leakage check failed and was not overridden."""


@dataclass
class LeakageVerdict:
    """Every check's outcome: dicts of check, feature, value, threshold, ok."""

    override: bool = False
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if not c["ok"]]

    def line(self) -> str:
        """One line: passed, or the first failure naming the feature and the check."""
        names = sorted({c["check"] for c in self.checks})
        if self.ok:
            return f"leakage checks passed ({', '.join(names)})"
        bad = self.failures
        first = bad[0]
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        tail = "; overridden (leakage.override)" if self.override else ""
        return (
            f"leakage check failed: {first['check']} flags {first['feature']!r} "
            f"({first['detail']}){more}{tail}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "override": self.override,
            "line": self.line(),
            "checks": self.checks,
        }

    def enforce(self) -> None:
        """Raise ``LeakageError`` on a failure unless overridden."""
        if not self.ok and not self.override:
            raise LeakageError(self.line() + "; set leakage: {override: true} to run anyway")


def check_features(
    verdict: LeakageVerdict,
    fn: Callable[[Panel], tuple[tuple[str, ...], FloatArray]],
    panel: Panel,
    y: FloatArray,
    label_end: IntArray,
    cfg: LeakageConfig,
) -> None:
    """Canary and future-vs-past IC of the features ``fn(panel)`` (names, [T, N, F])
    against the labels ``y`` [T, N] realised at ``label_end``."""
    names, values = fn(panel)
    if cfg.canary and panel.n_bars > 2:
        cut = (2 * panel.n_bars) // 3
        res = canary(lambda p: fn(p)[1], panel, cut)
        bad = set(res.changed_columns)
        for j, name in enumerate(names):
            detail = f"values at or before bar {cut} change when later bars do"
            verdict.checks.append(_row("canary", name, float(j in bad), 0.0, j not in bad, detail))
    ic = feature_ic_check(values, names, y, label_end, cfg.max_ic, cfg.min_ic, cfg.ratio)
    for name, fut, past in zip(names, ic.future_ic, ic.past_ic, strict=True):
        detail = f"future IC {fut:.3f} vs past IC {past:.3f}, limit {cfg.max_ic}"
        verdict.checks.append(
            _row("future_ic", name, float(fut), cfg.max_ic, name not in ic.flagged, detail)
        )


def check_accuracy(verdict: LeakageVerdict, what: str, value: float, cfg: LeakageConfig) -> None:
    """An out-of-sample hit rate / accuracy (chance 0.5) implausibly high."""
    if not np.isfinite(value):
        return
    limit = 0.5 + cfg.max_edge
    ok = not implausible(value, 0.5, cfg.max_edge)
    detail = f"out-of-sample {value:.3f} > {limit:.2f} is implausible"
    verdict.checks.append(_row("accuracy", what, float(value), limit, ok, detail))


def _row(
    check: str, feature: str, value: float, limit: float, ok: bool, detail: str
) -> dict[str, Any]:
    return {
        "check": check,
        "feature": feature,
        "value": value if np.isfinite(value) else None,
        "threshold": limit,
        "ok": bool(ok),
        "detail": detail,
    }
