"""Tests of gridplan.geo.threads (splitting GEOS work between threads)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gridplan.errors import InputError
from gridplan.geo.threads import (
    balanced_groups,
    default_workers,
    resolve_workers,
    spans,
    thread_map,
)


def test_balanced_groups_cover_every_weighted_item_once() -> None:
    weights = np.random.default_rng(3).integers(0, 50, 200)
    groups = balanced_groups(weights, 3)
    assert len(groups) == 3
    joined = np.sort(np.concatenate(groups))
    assert joined.tolist() == np.flatnonzero(weights > 0).tolist()
    loads = [weights[g].sum() for g in groups]
    assert max(loads) - min(loads) <= weights.max()  # greedy LPT bound
    assert [g.tolist() for g in balanced_groups([5, 1, 4, 0, 2], 2)] == [[0, 1], [2, 4]]
    assert balanced_groups([0, 0], 4) == []
    assert [g.tolist() for g in balanced_groups([1, 1], 8)] == [[0], [1]]


def test_thread_map_keeps_order_uses_threads_and_raises() -> None:
    seen: set[int] = set()

    def square(x: int) -> int:
        seen.add(threading.get_ident())
        return x * x

    assert thread_map(square, list(range(10)), 4) == [x * x for x in range(10)]
    assert threading.get_ident() in seen and len(seen) > 1
    seen.clear()
    assert thread_map(square, [1, 2, 3], 1) == [1, 4, 9]
    assert seen == {threading.get_ident()}

    def fail(x: int) -> int:
        raise ValueError(f"chunk {x}")

    with pytest.raises(ValueError, match="chunk 0"):
        thread_map(fail, [0, 1], 2)


def test_workers() -> None:
    assert 1 <= default_workers() <= 4
    assert resolve_workers(None) == default_workers()
    assert resolve_workers(3) == 3
    with pytest.raises(InputError, match="workers must be at least 1, got 0"):
        resolve_workers(0)


def test_spans_cut_contiguously() -> None:
    assert spans(10, 3) == [slice(0, 3), slice(3, 6), slice(6, 10)]
    assert spans(2, 4) == [slice(0, 1), slice(1, 2)]  # never an empty slice
    assert spans(5, 1) == [slice(0, 5)]
    assert spans(0, 3) == [slice(0, 0)]


def test_a_forked_child_gets_working_pools() -> None:
    """Pools made before a fork have no threads in the child; the child must not wait on them."""
    import multiprocessing

    assert thread_map(lambda x: x + 1, [1, 2, 3], 2) == [2, 3, 4]  # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        result = pool.apply_async(_in_child)
        assert result.get(timeout=20) == [2, 3, 4]


def _in_child() -> list[int]:
    return thread_map(_plus_one, [1, 2, 3], 2)


def _plus_one(x: int) -> int:
    return x + 1
