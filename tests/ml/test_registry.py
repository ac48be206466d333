"""Model registry on a local MLflow SQLite store: register/load round trip with
metadata, versions increment per name, bit-identical reloads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from alphapulse.ml.models import (
    LGBMClassifierModel,
    LGBMRegressorModel,
    RidgeBaseline,
    StackingEnsemble,
)
from alphapulse.ml.registry import SHA_TAG, ModelRegistry, artifact_sha256


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(root=tmp_path_factory.mktemp("mlruns"))


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, np.nan_to_num(X[:, 0]) + 0.3 * rng.normal(size=600)


def meta(**kw: object) -> dict:
    base = {
        "feature_set": "core",
        "feature_set_version": "1.2",
        "params": {"num_leaves": 7, "nested": {"a": [1, 2]}},
        "train_start": "2015-01-02",
        "train_end": "2018-12-31",
        "data_hash": "sha256:abc",
        "metrics": {"auc": 0.61, "logloss": 0.68},
        "code_version": "640a2fd",
    }
    return {**base, **kw}


def test_register_load_round_trip_and_versions(registry: ModelRegistry, xy) -> None:
    X, y = xy
    m1 = LGBMClassifierModel(n_estimators=20, num_leaves=7).fit(X, np.sign(y))
    m2 = LGBMClassifierModel(n_estimators=30, num_leaves=7).fit(X, np.sign(y))
    assert registry.register(m1, "clf", meta()) == 1
    assert registry.register(m2, "clf", meta(data_hash="sha256:def")) == 2
    latest, md = registry.load("clf")
    assert md == meta(data_hash="sha256:def")
    assert np.array_equal(latest.predict_proba(X), m2.predict_proba(X))  # type: ignore[attr-defined]
    first, md1 = registry.load("clf", 1)
    assert md1 == meta()
    assert np.array_equal(first.predict_proba(X), m1.predict_proba(X))  # type: ignore[attr-defined]
    entries = registry.list("clf")
    assert [e.version for e in entries] == [1, 2]
    assert entries[1].metadata["data_hash"] == "sha256:def"
    assert registry.versions("clf") == [1, 2]
    # the run carries params, metrics and tags for the MLflow UI
    run = registry.client.get_run(entries[0].run_id)
    assert run.data.metrics["auc"] == pytest.approx(0.61)
    assert run.data.params["num_leaves"] == "7"
    assert run.data.tags["feature_set"] == "core"
    assert os.environ.get("MLFLOW_DISABLE_TELEMETRY") or os.environ.get("DO_NOT_TRACK")


def test_versions_are_per_name_and_ensembles_round_trip(registry: ModelRegistry, xy) -> None:
    X, y = xy
    st = StackingEnsemble([LGBMRegressorModel(n_estimators=20), RidgeBaseline()], n_splits=3)
    st.fit(X, y)
    start = pd.Timestamp("2016-03-01 00:00", tz="UTC")
    assert registry.register(st, "stack", meta(train_start=start)) == 1
    loaded, md = registry.load("stack", "latest")
    assert md["train_start"] == "2016-03-01T00:00:00Z"
    assert isinstance(loaded, StackingEnsemble)
    a, b = st.predict_with_uncertainty(X), loaded.predict_with_uncertainty(X)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.confidence, b.confidence)


def test_bad_requests(registry: ModelRegistry, xy) -> None:
    X, y = xy
    m = RidgeBaseline().fit(X, y)
    bad = meta()
    del bad["data_hash"]
    with pytest.raises(ValidationError):
        registry.register(m, "ridge", bad)
    with pytest.raises(ValueError):
        registry.register(m, "bad name'", meta())
    with pytest.raises(KeyError):
        registry.load("never-registered")
    registry.register(m, "ridge", meta())
    with pytest.raises(KeyError):
        registry.load("ridge", 7)


def test_default_store_is_a_local_sqlite_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALPHAPULSE_MLRUNS", raising=False)
    reg = ModelRegistry()
    assert reg.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlruns.db'}"
    custom = ModelRegistry("sqlite:////elsewhere/x.db")
    assert custom.tracking_uri == "sqlite:////elsewhere/x.db"


# -- artifact integrity: loaded only when the recorded SHA-256 matches -------------------
def _register_sha(registry: ModelRegistry) -> None:
    if not registry.versions("sha"):
        X = np.random.default_rng(1).normal(size=(200, 3))
        registry.register(RidgeBaseline().fit(X, X[:, 0]), "sha", meta())


def test_hash_is_recorded_and_checked(registry: ModelRegistry) -> None:
    _register_sha(registry)
    tag = registry.client.get_model_version("sha", "1").tags[SHA_TAG]
    assert len(tag) == 64 and registry.load("sha")[1]["data_hash"] == "sha256:abc"


@pytest.mark.parametrize("in_model", [True, False])
def test_tampered_artifacts_are_not_loaded(registry: ModelRegistry, in_model: bool) -> None:
    _register_sha(registry)
    run_id = registry.client.get_model_version("sha", "1").run_id
    files = [
        p for p in (registry.root / "artifacts").rglob("*") if p.is_file() and run_id in p.parts
    ]
    target = next(p for p in sorted(files) if (p.parent.name == "model") == in_model)
    original = target.read_bytes()
    target.write_bytes(original + b"\n")
    try:
        with pytest.raises(ValueError, match=r"artifact SHA-256 .* differs from the recorded"):
            registry.load("sha", 1)
    finally:
        target.write_bytes(original)
    assert registry.load("sha", 1)[1]["data_hash"] == "sha256:abc"


def test_an_artifact_linked_outside_the_store_is_one_error_line(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    """An artifact swapped for a link to a file outside the store (same bytes, so the
    hash alone would pass) is refused as a ValueError naming the model, not MLflow's."""
    _register_sha(registry)
    run_id = registry.client.get_model_version("sha", "1").run_id
    files = (registry.root / "artifacts").rglob("*")
    target = next(p for p in sorted(files) if p.is_file() and run_id in p.parts)
    outside = tmp_path / target.name
    outside.write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside)
    try:
        with pytest.raises(ValueError, match=r"^model 'sha' version 1: artifacts cannot be"):
            registry.load("sha", 1)
    finally:
        target.unlink()
        target.write_bytes(outside.read_bytes())
    assert registry.load("sha", 1)[1]["data_hash"] == "sha256:abc"


def test_a_version_without_a_hash_is_refused(registry: ModelRegistry) -> None:
    _register_sha(registry)
    tag = registry.client.get_model_version("sha", "1").tags[SHA_TAG]
    registry.client.delete_model_version_tag("sha", "1", SHA_TAG)
    try:
        with pytest.raises(ValueError, match="no recorded artifact SHA-256"):
            registry.load("sha")
    finally:
        registry.client.set_model_version_tag("sha", "1", SHA_TAG, tag)


def test_digest_covers_names_and_contents(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"xy")
    first = artifact_sha256(tmp_path)
    (tmp_path / "a").rename(tmp_path / "b")
    assert artifact_sha256(tmp_path) != first
    (tmp_path / "b").write_bytes(b"xz")
    assert len({first, artifact_sha256(tmp_path)}) == 2


@pytest.mark.parametrize("key", ["root", "tracking_uri"])
def test_a_client_cannot_point_a_strategy_at_another_registry(tmp_path: Path, key: str) -> None:
    from alphapulse.core.trust import client_context
    from alphapulse.strategies.ml_strategy import MLStrategy

    where = tmp_path / "elsewhere"
    raw = {"registry": {"name": "clf", key: str(where)}}
    with pytest.raises(ValidationError, match=rf"registry\.{key}\n.*server-side location"):
        MLStrategy.Params.model_validate(raw, context=client_context())
    operator = MLStrategy.Params.model_validate(raw).registry  # a config file may
    assert operator is not None and getattr(operator, key) == str(where)
