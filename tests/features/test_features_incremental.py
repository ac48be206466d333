"""Batch vs incremental equality and the look-ahead canary for every feature kind."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.data.panel import Panel
from alphapulse.features import FeatureSetConfig, FeatureState, compute_features
from alphapulse.features.config import NormalizeConfig, default_feature_set
from alphapulse.ml.leakage import PERTURBATIONS, Perturbation, canary

OHLCV = ("open", "high", "low", "close", "volume")
SPECS = [s.model_dump() for s in default_feature_set().features]
SPEC_IDS = [s["kind"] for s in SPECS]


def _cfg(spec: dict[str, object], method: str = "none") -> FeatureSetConfig:
    return FeatureSetConfig(
        name="t", features=[spec], normalize=NormalizeConfig(method=method, window=60)
    )


def _incremental(panel: Panel, cfg: FeatureSetConfig, benchmark: str | None = None):
    st = FeatureState(cfg, panel.symbols, benchmark)
    rows = [
        st.update({k: panel.fields[k][t] for k in OHLCV}, int(panel.timestamps[t]))
        for t in range(panel.n_bars)
    ]
    return np.stack(rows)


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=0, equal_nan=True)


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_batch_equals_incremental_per_feature(sp_panel: Panel, spec: dict[str, object]) -> None:
    cfg = _cfg(spec)
    batch = compute_features(sp_panel, cfg).values
    assert np.isfinite(batch).sum() > 0.7 * batch.size * 0.8  # mostly defined
    _assert_same(batch, _incremental(sp_panel, cfg))


@pytest.mark.parametrize("method", ["rolling_z", "expanding_z"])
@pytest.mark.parametrize("benchmark", [None, "JPM"])
def test_batch_equals_incremental_full_set(
    sp_panel: Panel, method: str, benchmark: str | None
) -> None:
    cfg = default_feature_set().model_copy(
        update={"normalize": NormalizeConfig(method=method, window=120)}
    )
    batch = compute_features(sp_panel, cfg, benchmark).values
    _assert_same(batch, _incremental(sp_panel, cfg, benchmark))


def test_state_warm_started_mid_history_uses_only_its_rows(sp_panel: Panel) -> None:
    """A state fed from row s on equals the batch run on the panel sliced at s."""
    cfg = default_feature_set()
    s = 400
    sliced = Panel(
        sp_panel.timestamps[s:], sp_panel.symbols, {k: v[s:] for k, v in sp_panel.fields.items()}
    )
    _assert_same(compute_features(sliced, cfg).values, _incremental(sliced, cfg))


@pytest.mark.parametrize("how", PERTURBATIONS)
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_lookahead_canary_per_feature(
    sp_panel: Panel, spec: dict[str, object], how: Perturbation
) -> None:
    """Bars after the cutoff rescaled, missing, spiked or cut off: no value up to it moves."""
    cfg = _cfg(spec, "rolling_z")
    for cutoff in (300, 900):
        res = canary(lambda p: compute_features(p, cfg).values, sp_panel, cutoff, how=how)
        assert res.ok, res


@pytest.mark.parametrize("how", PERTURBATIONS)
@pytest.mark.parametrize("method", ["rolling_z", "expanding_z"])
def test_lookahead_canary_full_set_with_benchmark(
    sp_panel: Panel, method: str, how: Perturbation
) -> None:
    cfg = default_feature_set().model_copy(
        update={"normalize": NormalizeConfig(method=method, window=120)}
    )
    res = canary(lambda p: compute_features(p, cfg, "AAPL").values, sp_panel, 700, how=how)
    assert res.ok, res


@pytest.mark.parametrize("how", PERTURBATIONS)
def test_canary_catches_a_centred_window(sp_panel: Panel, how: Perturbation) -> None:
    def centred(p: Panel) -> np.ndarray:
        c = p.fields["close"]
        out = np.full_like(c, np.nan)
        out[1:-1] = (c[:-2] + c[1:-1] + c[2:]) / 3
        return out

    res = canary(centred, sp_panel, 500, how=how)
    assert not res.ok and res.n_changed > 0


def test_missing_bars_give_nan_and_do_not_break_the_series(sp_panel: Panel) -> None:
    """Rows without a usable bar (DHR gaps and close-only rows, FTV before listing and
    its first close-only row) are NaN; returns span the gap to the previous valid bar."""
    fm = compute_features(sp_panel, _cfg({"kind": "returns", "horizons": [1]}))
    for sym in ("DHR", "FTV"):
        j = sp_panel.symbols.index(sym)
        c = sp_panel.fields["close"][:, j]
        ok = np.isfinite(sp_panel.fields["open"][:, j]) & np.isfinite(c)
        assert (~ok).sum() > 10
        r = fm.feature("ret_1")[:, j]
        assert np.isnan(r[~ok]).all()
        rows = np.flatnonzero(ok)
        assert np.isnan(r[rows[0]])
        np.testing.assert_allclose(r[rows[1:]], np.diff(np.log(c[rows])), rtol=1e-12)


def test_update_needs_timestamp_for_calendar(sp_panel: Panel) -> None:
    st = FeatureState(_cfg({"kind": "calendar"}), sp_panel.symbols)
    with pytest.raises(ValueError, match="timestamps"):
        st.update({k: sp_panel.fields[k][0] for k in OHLCV})
