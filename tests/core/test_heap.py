"""frozen_heap: the older objects sit out the run's collections, then come back."""

from __future__ import annotations

import gc
import weakref

import pytest

from alphapulse.core.heap import frozen_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_heap_is_frozen_for_the_run_and_unfrozen_after() -> None:
    gc.collect()
    assert gc.get_freeze_count() == 0
    old = _cycle()  # garbage made before: it sits out the run
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        new = _cycle()  # garbage made during the run is still collected
        gc.collect()
        assert new() is None
        assert old() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert old() is None


def test_a_heap_frozen_before_stays_frozen() -> None:
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == count  # not frozen again
        assert gc.get_freeze_count() == count  # and not unfrozen
    finally:
        gc.unfreeze()


def test_an_error_in_the_run_unfreezes_the_heap() -> None:
    with pytest.raises(RuntimeError, match="boom"), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
