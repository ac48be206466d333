"""Feature matrix + labels -> model rows."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.features.compute import FeatureMatrix
from alphapulse.ml.dataset import add_feature, make_dataset
from alphapulse.ml.labels import sample_weights

NAN = np.nan


def _fm() -> FeatureMatrix:
    v = np.arange(4 * 2 * 2, dtype=float).reshape(4, 2, 2)
    v[0, 1, 0] = NAN
    return FeatureMatrix(("a", "b"), v, np.arange(4, dtype=np.int64), ("X", "Y"))


def test_rows_drop_nan_features_and_missing_labels() -> None:
    fm = _fm()
    y = np.array([[1.0, 2.0], [NAN, 3.0], [4.0, 5.0], [6.0, 7.0]])
    end = np.array([[2, 2], [-1, 3], [3, 3], [-1, -1]])
    ds = make_dataset(fm, y, end, sample_weights(end))
    np.testing.assert_array_equal(ds.time_idx, [0, 1, 2, 2])
    np.testing.assert_array_equal(ds.symbol_idx, [0, 1, 0, 1])
    np.testing.assert_array_equal(ds.y, [1.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(ds.label_end, [2, 3, 3, 3])
    np.testing.assert_array_equal(ds.X[0], fm.values[0, 0])
    assert ds.feature_names == ("a", "b") and ds.n_times == 4 and len(ds) == 4
    assert np.all((ds.weight > 0) & (ds.weight <= 1))
    sub = ds.at_times([2])
    assert len(sub) == 2 and set(sub.time_idx) == {2}
    assert ds.select(["b"]).X.shape == (4, 1)


def test_add_feature_and_shape_checks() -> None:
    fm = add_feature(_fm(), "c", np.zeros((4, 2)))
    assert fm.names == ("a", "b", "c") and fm.values.shape == (4, 2, 3)
    with pytest.raises(ValueError):
        add_feature(fm, "c", np.zeros((4, 2)))
    with pytest.raises(ValueError):
        make_dataset(fm, np.zeros((3, 2)), np.zeros((3, 2), dtype=np.int64))
