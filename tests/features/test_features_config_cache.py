"""Feature-set config (YAML, strict keys) and the Parquet cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from alphapulse.core.errors import ConfigError, SettingError
from alphapulse.data.panel import Panel
from alphapulse.features import (
    FeatureMatrix,
    FeatureSetConfig,
    FeatureState,
    compute_features,
    default_feature_set,
    load_feature_set,
)
from alphapulse.features.cache import cache_key, cached_features

YAML = """
name: core
version: 3
features:
  - {kind: returns, horizons: [1, 5]}
  - {kind: rsi, period: 14}
  - {kind: market, window: 40}
  - {kind: calendar}
normalize: {method: expanding_z, min_periods: 30}
"""


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "fs.yaml"
    path.write_text(YAML)
    cfg = load_feature_set(path)
    assert (cfg.name, cfg.version, cfg.normalize.method) == ("core", 3, "expanding_z")
    assert [f.kind for f in cfg.features] == ["returns", "rsi", "market", "calendar"]
    assert FeatureSetConfig.model_validate(cfg.model_dump()) == cfg


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "x", "features": [{"kind": "rsi", "perod": 14}]},
        {"name": "x", "features": [{"kind": "nope"}]},
        {"name": "x", "features": []},
        {"name": "x", "features": [{"kind": "macd", "fast": 30, "slow": 20}]},
        {"name": "x", "features": [{"kind": "rsi"}], "extra": 1},
    ],
)
def test_invalid_configs_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FeatureSetConfig.model_validate(bad)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"normalize": {"window": 10**12}}, "normalize.window"),
        (
            {"features": [{"kind": "returns", "horizons": [1, 10**12]}]},
            "features.0.returns.horizons.1",
        ),
        ({"features": [{"kind": "rsi", "period": 10**12}]}, "features.0.rsi.period"),
        (
            {"features": [{"kind": "sentiment", "lag_bars": 10**12}]},
            "features.0.sentiment.lag_bars",
        ),
    ],
)
def test_a_window_beyond_a_million_bars_is_refused_naming_it(
    bad: dict[str, object], field: str
) -> None:
    with pytest.raises(
        ValidationError, match=rf"{field}\n  Input should be less than or equal to 1000000"
    ):
        FeatureSetConfig.model_validate({"name": "x", "features": [{"kind": "rsi"}], **bad})


def test_duplicate_names_rejected(sp_panel: Panel) -> None:
    cfg = FeatureSetConfig(name="d", features=[{"kind": "rsi"}, {"kind": "rsi"}])
    with pytest.raises(ValueError, match="duplicate"):
        compute_features(sp_panel, cfg)


def test_default_set_names_and_calendar_not_normalised(sp_panel: Panel) -> None:
    fm = compute_features(sp_panel, default_feature_set())
    assert len(fm.names) == 21 and fm.values.shape == (sp_panel.n_bars, sp_panel.n_symbols, 21)
    dow = fm.feature("dow_sin")
    assert np.nanmax(np.abs(dow)) <= 1.0
    # normalised features are z-scores: roughly unit scale
    assert 0.5 < np.nanstd(fm.feature("rsi_14")) < 2.0


def test_cache_round_trip_and_keys(sp_panel: Panel, tmp_path: Path) -> None:
    cfg = default_feature_set()
    calls: list[int] = []

    def compute(p: Panel, c: FeatureSetConfig, b: str | None) -> FeatureMatrix:
        calls.append(1)
        return compute_features(p, c, b)

    a = cached_features(sp_panel, cfg, tmp_path, compute=compute)
    b = cached_features(sp_panel, cfg, tmp_path, compute=compute)
    assert len(calls) == 1 and len(list(tmp_path.glob("*.parquet"))) == 1
    assert a.names == b.names and a.symbols == b.symbols
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    np.testing.assert_array_equal(a.values, b.values)
    # a new version, another benchmark or other bars give another key
    v2 = cfg.model_copy(update={"version": 2})
    assert cache_key(sp_panel, v2) != cache_key(sp_panel, cfg)
    assert cache_key(sp_panel, cfg, "AAPL") != cache_key(sp_panel, cfg)
    fields = {k: v.copy() for k, v in sp_panel.fields.items()}
    fields["close"][-1, 0] *= 1.01
    other = Panel(sp_panel.timestamps, sp_panel.symbols, fields)
    assert cache_key(other, cfg) != cache_key(sp_panel, cfg)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (None, "No such file"),
        ("features: [unclosed", "not YAML"),
        ("name: f\nversion: 1\nfeatures: []\n", "a feature set needs at least one feature"),
        ("name: f\nversion: 1\nfeatures: [{kind: returns, windwos: [5]}]\n", "windwos"),
    ],
    ids=["missing", "yaml", "empty", "unknown_key"],
)
def test_a_bad_feature_set_file_is_a_config_error_naming_it(
    tmp_path: Path, text: str | None, needle: str
) -> None:
    """One line naming the file (the CLI prints it, exit 2), never a traceback."""
    path = tmp_path / "fs.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=needle) as exc:
        load_feature_set(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_benchmark_not_among_the_symbols_is_a_setting_error() -> None:
    with pytest.raises(SettingError, match=r"benchmark 'SPY' is not among the symbols \(A, B\)"):
        FeatureState(default_feature_set(), ("A", "B"), "SPY")
