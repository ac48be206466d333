"""The leakage gate of ``research`` and ``train``: a deliberately leaked feature (the
future label plus noise) stops the run with one line naming the feature and the check
(exit 2 from the CLI) unless ``leakage: {override: true}``; the verdict is reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import alphapulse.features as features_pkg
import alphapulse.ml.research as research
from alphapulse.cli import main
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.features import FeatureMatrix, compute_features
from alphapulse.features.config import FeatureSetConfig
from alphapulse.ml.dataset import add_feature
from alphapulse.ml.leakage_gate import (
    LeakageConfig,
    LeakageError,
    LeakageVerdict,
    check_accuracy,
    check_features,
)
from alphapulse.ml.training import LabelSpec, TrainConfig, make_labels, run_training, target_values

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE", "WMT", "INTC", "CSCO", "HD"]
FEATURES = {"name": "small", "features": [{"kind": "returns"}, {"kind": "rsi"}]}
LABEL = LabelSpec(horizon=5, cross_sectional=True)


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2015-06-30")


def _leaky(p: Panel, fs: FeatureSetConfig, benchmark: str | None = None) -> FeatureMatrix:
    """The honest features plus ``leak``: the label that starts at t, plus noise."""
    fm = compute_features(p, fs, benchmark)
    y, _ = make_labels(p, LABEL)
    rel = target_values(y, LABEL, "regressor")
    noise = np.random.default_rng(1).normal(size=rel.shape) * 0.3 * np.nanstd(rel)
    return add_feature(fm, "leak", rel + noise)


def _names_values(fn: Any, fs: FeatureSetConfig) -> Any:
    def run(p: Panel) -> tuple[tuple[str, ...], np.ndarray]:
        fm = fn(p, fs)
        return fm.names, fm.values

    return run


def test_leaked_feature_fails_canary_and_future_ic_honest_ones_pass(panel: Panel) -> None:
    fs = FeatureSetConfig.model_validate(FEATURES)
    y, end = make_labels(panel, LABEL)
    rel = target_values(y, LABEL, "regressor")
    verdict = LeakageVerdict()
    check_features(verdict, _names_values(_leaky, fs), panel, rel, end, LeakageConfig())
    assert {(c["check"], c["feature"]) for c in verdict.failures} == {
        ("canary", "leak"),
        ("future_ic", "leak"),
    }
    ic = next(c for c in verdict.checks if c["check"] == "future_ic" and c["feature"] == "leak")
    assert ic["value"] > 0.8
    with pytest.raises(LeakageError, match=r"^leakage check failed: canary flags 'leak' \("):
        verdict.enforce()
    honest = LeakageVerdict()
    check_features(honest, _names_values(compute_features, fs), panel, rel, end, LeakageConfig())
    assert honest.ok and len(honest.checks) == 2 * 5  # 4 returns + rsi, two checks each
    honest.enforce()


def test_override_runs_on_and_still_reports() -> None:
    verdict = LeakageVerdict(override=True)
    check_accuracy(verdict, "holdout hit_rate", 0.93, LeakageConfig())
    verdict.enforce()  # no raise
    d = verdict.as_dict()
    assert d["ok"] is False and d["override"] is True
    assert "accuracy flags 'holdout hit_rate'" in d["line"] and "overridden" in d["line"]
    check_accuracy(ok := LeakageVerdict(), "hit", 0.55, LeakageConfig())
    assert ok.ok


def _research_cfg(shared_data: Path, **extra: Any) -> dict[str, Any]:
    return {
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS, "end": "2015-06-30"},
        "walk_forward": {"n_splits": 2, "test_size": 42},
        "ml": {"features": FEATURES, "label": LABEL.model_dump(), "min_train_rows": 200},
        **extra,
    }


def test_research_with_a_leaked_feature_stops_with_exit_2(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(research, "compute_features", _leaky)
    monkeypatch.setenv("ALPHAPULSE_DATA", str(shared_data))
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(_research_cfg(shared_data)))
    with pytest.raises(SystemExit) as exc:
        main(["research", str(path), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert len(err) == 1 and "canary flags 'leak'" in err[0]
    assert not (tmp_path / "out" / "report.json").exists()


def test_train_with_a_leaked_feature_stops_and_records_an_override(
    panel: Panel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(features_pkg, "compute_features", _leaky)
    base = {
        "name": "leaky",
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
        "features": FEATURES,
        "label": LABEL.model_dump(),
        "model": {"kind": "logistic"},
        "train_end": "2014-12-31",
        "registry": {"root": str(tmp_path / "mlruns")},
    }
    with pytest.raises(LeakageError, match="'leak'"):
        run_training(TrainConfig.model_validate(base), panel)
    over = TrainConfig.model_validate({**base, "leakage": {"override": True}})
    meta = run_training(over, panel, registry=_Kept())["metadata"]  # type: ignore[arg-type]
    assert meta["leakage"]["ok"] is False and meta["leakage"]["override"] is True
    flagged = {c["feature"] for c in meta["leakage"]["checks"] if not c["ok"]}
    assert flagged == {"leak", "holdout hit_rate"}  # the leak also shows in the holdout


class _Kept:
    """Keeps the registered metadata in memory (the MLflow round trip is tested in
    test_training.py)."""

    def register(self, model: Any, name: str, meta: dict[str, Any]) -> int:
        self.meta = meta
        return 1
