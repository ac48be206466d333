"""Purged walk-forward and purged k-fold: no training label window overlaps a test
block, the embargo holds, and the sizes follow the mode (hypothesis properties)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.ml.cv import PurgedKFold, PurgedWalkForward, rows_label_end, time_label_end
from alphapulse.ml.training import NEVER


@st.composite
def _problem(draw: st.DrawFn) -> tuple[int, np.ndarray, int, int]:
    n = draw(st.integers(20, 300))
    seed = draw(st.integers(0, 2**31 - 1))
    max_h = draw(st.integers(0, 15))
    rng = np.random.default_rng(seed)
    end = np.arange(n) + rng.integers(0, max_h + 1, n)
    end[rng.random(n) < 0.1] = -1  # times without a label
    return n, end, draw(st.integers(1, 5)), draw(st.integers(0, 10))


def _windows_overlap(train: np.ndarray, end: np.ndarray, a: int, b: int) -> np.ndarray:
    return (train <= b - 1) & (end[train] >= a)


@settings(max_examples=150, deadline=None)
@given(_problem(), st.sampled_from(["expanding", "sliding"]))
def test_walk_forward_purge_and_embargo(prob: tuple, mode: str) -> None:
    n, end, k, embargo = prob
    cv = PurgedWalkForward(n_splits=k, mode=mode, embargo=embargo)  # type: ignore[arg-type]
    eff = time_label_end(end, n)
    splits = list(cv.split(n, end))
    assert len(splits) == k
    prev_a = -1
    for train, test in splits:
        a, b = int(test[0]), int(test[-1]) + 1
        assert np.array_equal(test, np.arange(a, b)) and a > prev_a
        prev_a = a
        assert len(train) == 0 or train.max() < a  # only the past
        assert not _windows_overlap(train, eff, a, b).any()  # purge
        assert (eff[train] + embargo < a).all()  # embargo gap before the test block
        lo = 0 if mode == "expanding" else a - (n - k * (n // (k + 1)))
        dropped = [t for t in range(max(0, lo), a) if t not in set(train.tolist())]
        assert all(eff[t] + embargo >= a for t in dropped)  # nothing purged needlessly


@settings(max_examples=150, deadline=None)
@given(_problem())
def test_kfold_purge_and_embargo(prob: tuple) -> None:
    n, end, k, embargo = prob
    k = max(k, 2)
    eff = time_label_end(end, n)
    seen = []
    for train, test in PurgedKFold(n_splits=k, embargo=embargo).split(n, end):
        a, b = int(test[0]), int(test[-1]) + 1
        seen.extend(test.tolist())
        assert not np.isin(train, test).any()
        span_end = max(b - 1, int(eff[a:b].max()))
        # purge: no training label window [t, end_t] meets the test span [a, span_end]
        assert not ((train <= span_end) & (eff[train] >= a)).any()
        after = train[train > span_end]
        assert (after > span_end + embargo).all()  # embargo after the test labels
    assert sorted(seen) == list(range(n))


def test_expanding_vs_sliding_sizes() -> None:
    n = 600
    exp = list(PurgedWalkForward(4, "expanding").split(n))
    sld = list(PurgedWalkForward(4, "sliding", train_size=200).split(n))
    assert [len(te) for _, te in exp] == [120] * 4
    assert [len(tr) for tr, _ in exp] == [120, 240, 360, 480]
    assert [len(tr) for tr, _ in sld] == [120, 200, 200, 200]
    assert [int(tr[0]) for tr, _ in sld] == [0, 40, 160, 280]
    # custom test size; labels 5 bars long purge 5 times before each block
    end = np.arange(n) + 5
    for tr, te in PurgedWalkForward(3, test_size=50, embargo=2).split(n, end):
        assert tr.max() == te[0] - 8


def test_label_end_from_panel_and_rows() -> None:
    end2d = np.array([[2, -1], [1, 3], [-1, -1]])
    np.testing.assert_array_equal(time_label_end(end2d, 3), [2, 3, 2])
    np.testing.assert_array_equal(
        rows_label_end(np.array([0, 1, 1]), np.array([2, 1, 3]), 3), [2, 3, 2]
    )


@pytest.mark.parametrize("embargo", [0, 1, 3])
def test_make_labels_no_label_marker_is_no_label(embargo: int) -> None:
    """``make_labels`` marks rows without a label ``NEVER`` (int64 max): the splitters
    read it as no label, like -1, so a symbol without labels (not listed yet, the last
    bars) neither purges every time nor lets the embargo overflow past the purge."""
    n = 40
    end = np.stack([np.arange(n) + 5, np.arange(n) + 2], axis=1)
    end[n - 5 :, 0] = -1
    end[n - 2 :, 1] = -1
    end[:20, 1] = -1  # symbol 1 listed at bar 20
    never = np.where(end < 0, NEVER, end)
    for cv in (PurgedWalkForward(2, test_size=8, embargo=embargo), PurgedKFold(4, embargo)):
        for (tr, te), (tr_ref, te_ref) in zip(cv.split(n, never), cv.split(n, end), strict=True):
            np.testing.assert_array_equal(te, te_ref)
            np.testing.assert_array_equal(tr, tr_ref)
            before = tr[tr < te[0]]
            assert tr.size and (end[before].max(axis=1) < te[0]).all()  # purged


def test_too_few_times() -> None:
    with pytest.raises(ValueError):
        list(PurgedWalkForward(5).split(4))
    with pytest.raises(ValueError):
        PurgedKFold(1)
