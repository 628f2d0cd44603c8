"""Run independent GEOS work on several threads.

Shapely's vectorised functions release the GIL while GEOS computes, so disjoint chunks of
one array operation run in parallel from a single process. Two rules keep this safe:

* a chunk never shares a *prepared* geometry with another chunk (preparing mutates the
  geometry: each chunk prepares its own), and
* chunks only read shared input arrays; results come back as new arrays.

Chunks are balanced by a caller-given weight (e.g. vertices to test), with the greedy
longest-processing-time rule.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from gridplan.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

#: Upper bound on the default number of threads.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """Threads to use when the caller does not say: the usable cores, at most
    :data:`MAX_DEFAULT_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cores))


def resolve_workers(workers: int | None) -> int:
    """``workers`` checked (at least 1), or :func:`default_workers` for ``None``.

    Raises
    ------
    InputError
        If ``workers`` is below 1.
    """
    if workers is None:
        return default_workers()
    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    return int(workers)


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """One long-lived pool per size (threads start once, not on every call)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gridplan-geos")


# A forked child (multiprocessing, forking servers) inherits the pools but not their threads:
# work sent to them would wait forever. The child starts with no pools instead.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.cache_clear)


def balanced_groups(weights: npt.ArrayLike, groups: int) -> list[npt.NDArray[np.int64]]:
    """Split item indices into at most ``groups`` groups of similar total weight.

    Parameters
    ----------
    weights
        One non-negative weight per item.
    groups
        Number of groups wanted.

    Returns
    -------
    list of numpy.ndarray
        Non-empty groups of item indices, each sorted ascending; items of weight 0 are left
        out.

    Examples
    --------
    >>> [g.tolist() for g in balanced_groups([5, 1, 4, 0, 2], 2)]
    [[0, 1], [2, 4]]
    """
    w = np.asarray(weights, dtype=float)
    load = np.zeros(max(1, groups))
    members: list[list[int]] = [[] for _ in range(len(load))]
    for i in np.argsort(-w, kind="stable"):
        if w[i] <= 0:
            break
        g = int(np.argmin(load))
        load[g] += w[i]
        members[g].append(int(i))
    return [np.sort(np.asarray(m, dtype=np.int64)) for m in members if m]


def spans(n: int, parts: int) -> list[slice]:
    """``0..n`` cut into at most ``parts`` contiguous slices of near-equal length (none
    empty unless ``n`` is 0).

    Examples
    --------
    >>> spans(10, 3)
    [slice(0, 3, None), slice(3, 6, None), slice(6, 10, None)]
    """
    bounds = np.linspace(0, n, max(1, min(parts, n)) + 1).astype(np.int64)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def thread_map(func: Callable[[T], R], chunks: Sequence[T], workers: int) -> list[R]:
    """``[func(c) for c in chunks]``, run on up to ``workers`` threads.

    The calling thread runs the last chunk itself; with one worker or one chunk nothing is
    handed to another thread. All chunks finish before it returns or raises; the error
    raised is that of the first failing chunk (in chunk order).
    """
    if workers <= 1 or len(chunks) <= 1:
        return [func(c) for c in chunks]
    pool = _pool(workers)
    futures = [pool.submit(func, c) for c in chunks[:-1]]
    try:
        last = func(chunks[-1])
    except BaseException:
        for f in futures:  # let the others finish first: nothing keeps running behind us
            f.exception()
        for f in futures:
            f.result()  # an earlier chunk's error comes first
        raise
    return [f.result() for f in futures] + [last]
