"""The partition engine: :func:`partition_graph`."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.errors import InfeasibleError, InputError
from gridplan.geo.graph import UnitGraph
from gridplan.geo.partition import feasibility
from gridplan.geo.partition.config import IslandJoin, PartitionConfig, PartitionResult
from gridplan.geo.partition.costs import district_metrics, district_parts, topology
from gridplan.geo.partition.islands import components
from gridplan.geo.partition.islands import join_islands as _join_islands
from gridplan.geo.partition.search import Search, relabel_to_baseline
from gridplan.geo.partition.seeding import OutOfBudgetError, Seeder
from gridplan.geo.partition.trees import FloatArray, IntArray, Topology

#: Measures a plan can be balanced on.
MEASURES: tuple[str, ...] = ("households", "residents")


def partition_graph(
    graph: UnitGraph,
    lo: float,
    hi: float,
    *,
    measure: str = "households",
    k: int | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    baseline: Sequence[object] | npt.NDArray[np.object_] | pd.Series | None = None,
    join_islands: bool = True,
    config: PartitionConfig | None = None,
) -> PartitionResult:
    """Partition a unit graph into contiguous areas whose totals lie in ``[lo, hi]``.

    Parameters
    ----------
    graph
        The unit graph.
    lo, hi
        The band of the measure per area (inclusive).
    measure
        ``"households"`` or ``"residents"``.
    k
        Number of areas; ``None`` makes as many as the band allows.
    seed
        Random seed; the result is deterministic for a seed.
    time_limit
        Seconds for the whole run, a positive finite number (seeding gets what it needs
        first; local search stops at the limit); ``None``: no limit.
    baseline
        Existing district of each unit (any hashable; ``None`` where a unit has none). The
        plan then moves as few households as it can and keeps the baseline's names.
    join_islands
        Join each island component to its nearest unit (and report it); when false an island
        must hold whole areas by itself.
    config
        Tuning (:class:`PartitionConfig`).

    Returns
    -------
    PartitionResult
        ``valid`` false with the exact ``reason`` when no plan exists (or none was found in
        the time limit).

    Raises
    ------
    InputError
        If the measure is unknown, a unit's measure is missing or negative, the graph is
        empty, ``k`` is below 1, the band is not finite with ``lo >= 0`` and ``hi > 0``,
        ``time_limit`` is zero, negative, NaN or infinite, or the baseline's length differs
        from the graph's.

    Examples
    --------
    A 1×4 path of units with 10 households each, areas of 15–25 households:

    >>> import numpy as np, pandas as pd
    >>> from gridplan.geo.graph import UnitGraph
    >>> g = UnitGraph(
    ...     unit_ids=np.array(list("abcd"), dtype=object),
    ...     households=np.full(4, 10.0), residents=np.zeros(4),
    ...     edges=pd.DataFrame({"u": [0, 1, 2], "v": [1, 2, 3], "length": [1.0] * 3,
    ...                         "road_class": [None] * 3}),
    ...     centroids=np.array([[0, 0], [1, 0], [2, 0], [3, 0]], dtype=float),
    ...     areas=np.ones(4))
    >>> r = partition_graph(g, 15, 25)
    >>> r.valid, r.k, sorted(r.totals.tolist())
    (True, 2, [20.0, 20.0])
    """
    t0 = time.perf_counter()
    config = config or PartitionConfig()
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        raise InputError(f"time_limit must be a positive number of seconds (got {time_limit})")
    deadline = None if time_limit is None else t0 + float(time_limit)
    weights = _weights(graph, measure)
    n = graph.n
    if n == 0:
        raise InputError("the unit graph is empty")
    if k is not None and k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi <= 0:
        raise InputError(
            f"the band [{lo}, {hi}] must be finite numbers with a floor of at least 0 and a "
            "ceiling above 0"
        )
    rng = np.random.default_rng(seed)

    joins: tuple[IslandJoin, ...] = ()
    extra = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    u0 = graph.edges["u"].to_numpy(dtype=np.int64)
    v0 = graph.edges["v"].to_numpy(dtype=np.int64)
    if join_islands:
        eu, ev, joins = _join_islands(graph.unit_ids, graph.centroids, u0, v0)
        extra = (eu, ev)
    top = topology(n, graph.edges, config, extra)
    comp = components(n, top.u, top.v)

    def fail(reason: str, iterations: int = 0) -> PartitionResult:
        return PartitionResult(
            labels=np.full(n, -1, dtype=np.int64),
            names=(),
            valid=False,
            reason=reason,
            totals=np.zeros(0),
            units=np.zeros(0, dtype=np.int64),
            road_share=np.zeros(0),
            households_moved=None,
            islands=joins,
            seconds=time.perf_counter() - t0,
            iterations=iterations,
        )

    try:
        ranges = feasibility.check(graph.unit_ids, weights, comp, lo, hi, k, measure)
    except InfeasibleError as exc:
        return fail(str(exc))

    base_codes: IntArray | None = None
    base_names: list[str] = []
    if baseline is not None:
        base_codes, base_names = _baseline_codes(baseline, n)

    labels: IntArray | None = None
    reason = "no plan found"
    iterations = 0
    if base_codes is not None:
        labels, reason = _repair_baseline(
            top, weights, comp, ranges, base_codes, lo, hi, k, rng, config, deadline
        )
    if labels is None:
        labels, reason = _seed(top, weights, comp, ranges, lo, hi, k, rng, config, deadline)
        if labels is not None and k is None:
            labels = _add_areas(top, weights, labels, lo, hi, rng, config, deadline)
    if labels is None:
        return fail(reason)

    code_of: IntArray | None = None
    if base_codes is not None:
        labels, code_of = relabel_to_baseline(labels, weights, base_codes, len(base_names))
    search = Search(
        top,
        weights,
        labels,
        lo,
        hi,
        rng,
        base=base_codes,
        code_of=code_of,
        moved_weight=config.moved_weight,
    )
    kk = search.k
    steps = config.improve_steps if config.improve_steps is not None else min(5 * kk, 5_000)
    if kk > 1:
        for _ in range(steps):
            if deadline is not None and time.perf_counter() > deadline:
                break
            search.step()
        for _ in range(config.flip_rounds):
            if deadline is not None and time.perf_counter() > deadline:
                break
            if search.flip_round() == 0:
                break
    iterations = search.steps
    labels = search.labels
    labels, names = _names(labels, search.code_of, base_names)
    totals = np.bincount(labels, weights=weights, minlength=len(names)).astype(np.float64)
    units = np.bincount(labels, minlength=len(names)).astype(np.int64)
    share, cut_cost = district_metrics(top, labels, len(names))
    parts = district_parts(top, labels, len(names))
    problems = _problems(totals, parts, names, lo, hi, measure)
    moved = None
    if base_codes is not None:
        name_code = {nm: i for i, nm in enumerate(base_names)}
        codes = np.array([name_code.get(nm, -1) for nm in names], dtype=np.int64)
        moved = float(weights[codes[labels] != base_codes].sum())
    return PartitionResult(
        labels=labels,
        names=tuple(names),
        valid=not problems,
        reason="; ".join(problems) if problems else None,
        totals=totals,
        units=units,
        road_share=share,
        households_moved=moved,
        islands=joins,
        seconds=time.perf_counter() - t0,
        iterations=iterations,
        cut_cost=cut_cost,
    )


def _weights(graph: UnitGraph, measure: str) -> FloatArray:
    if measure not in MEASURES:
        raise InputError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    w = np.asarray(getattr(graph, measure), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if len(bad):
        first = ", ".join(f"unit {graph.unit_ids[i]} ({w[i]})" for i in bad[:3])
        raise InputError(f"{len(bad)} unit(s) have a missing or negative {measure}: {first}")
    return w


def _baseline_codes(
    baseline: Sequence[object] | npt.NDArray[np.object_] | pd.Series, n: int
) -> tuple[IntArray, list[str]]:
    values = pd.Series(list(baseline) if not isinstance(baseline, pd.Series) else baseline)
    if len(values) != n:
        raise InputError(f"the baseline has {len(values)} entries for {n} units")
    values = values.where(values.notna(), None)
    text = values.map(lambda x: None if x is None or x == "" else str(x))
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), [str(x) for x in uniques]


def _seed(
    top: Topology,
    weights: FloatArray,
    comp: IntArray,
    ranges: list[tuple[int, int]],
    lo: float,
    hi: float,
    k: int | None,
    rng: np.random.Generator,
    config: PartitionConfig,
    deadline: float | None,
) -> tuple[IntArray | None, str]:
    """Seed every component by recursive bisection; ``None`` and a reason on failure."""
    comp_totals = np.bincount(comp, weights=weights).astype(np.float64)
    counts = (
        feasibility.distribute(ranges, comp_totals, k) if k is not None else [r[1] for r in ranges]
    )
    flexible = k is None
    labels = np.full(top.n, -1, dtype=np.int64)
    next_label = 0
    for c, m in enumerate(counts):
        nodes = np.flatnonzero(comp == c)
        parts = None
        for attempt in range(4):
            seeder = Seeder(
                top,
                weights,
                lo,
                hi,
                rng,
                budget=config.tree_budget * m * (attempt + 1) + 50,
                deadline=deadline,
                attempts=config.split_attempts,
            )
            try:
                parts = seeder.split(nodes, m, flexible)
            except OutOfBudgetError as exc:
                if "time" in str(exc):
                    return None, (f"no valid plan found within the time limit ({k or 'max'} areas)")
                parts = None
            if parts is not None:
                break
        if parts is None:
            what = f"{m} areas" if k is not None else "areas"
            return None, (
                f"no valid plan found: could not split a component of {len(nodes)} units "
                f"holding {comp_totals[c]:,.0f} into {what} within [{lo:,.0f}, {hi:,.0f}] "
                "after repeated spanning-tree attempts"
            )
        for p in parts:
            labels[p] = next_label
            next_label += 1
    return labels, ""


def _add_areas(
    top: Topology,
    weights: FloatArray,
    labels: IntArray,
    lo: float,
    hi: float,
    rng: np.random.Generator,
    config: PartitionConfig,
    deadline: float | None,
) -> IntArray:
    """As many areas as the band allows: re-cut single areas into 2 and adjacent pairs into 3
    wherever their totals allow it, until no such re-cut succeeds."""
    labels = labels.copy()
    for _round in range(8):
        k = int(labels.max()) + 1
        totals = np.bincount(labels, weights=weights, minlength=k)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(k + 1))
        members = [order[bounds[d] : bounds[d + 1]] for d in range(k)]
        la, lb = labels[top.u], labels[top.v]
        cut = la != lb
        pairs = np.unique(np.stack([np.minimum(la, lb)[cut], np.maximum(la, lb)[cut]], 1), axis=0)
        groups: list[tuple[int, ...]] = [(int(d),) for d in np.flatnonzero(totals >= 2 * lo)]
        if len(pairs):
            sums = totals[pairs[:, 0]] + totals[pairs[:, 1]]
            good = np.flatnonzero(sums >= 3 * lo)
            good = good[np.argsort(-sums[good], kind="stable")]
            groups += [(int(pairs[i, 0]), int(pairs[i, 1])) for i in good]
        touched: set[int] = set()
        added = 0
        for group in groups:
            if deadline is not None and time.perf_counter() > deadline:
                return labels
            if touched.intersection(group):
                continue
            nodes = np.concatenate([members[d] for d in group])
            seeder = Seeder(
                top,
                weights,
                lo,
                hi,
                rng,
                budget=config.split_attempts * 2,
                deadline=deadline,
                attempts=config.split_attempts,
            )
            try:
                parts = seeder.split(nodes, len(group) + 1, False)
            except OutOfBudgetError:
                parts = None
            if parts is None:
                continue
            new_labels = [*group, int(labels.max()) + 1]
            for lab, part in zip(new_labels, parts, strict=True):
                labels[part] = lab
            touched.update(new_labels)
            added += 1
        if added == 0:
            break
    return labels


def _repair_baseline(
    top: Topology,
    weights: FloatArray,
    comp: IntArray,
    ranges: list[tuple[int, int]],
    base: IntArray,
    lo: float,
    hi: float,
    k: int | None,
    rng: np.random.Generator,
    config: PartitionConfig,
    deadline: float | None,
) -> tuple[IntArray | None, str]:
    """Start from the baseline and re-seed only around its invalid districts.

    Units without a baseline district and disconnected pieces of a district become districts
    of their own; then, while any district is out of band, the union of it and its neighbours
    is re-seeded (growing the neighbourhood if that fails). A fixed ``k`` that differs from
    the baseline's count falls back to seeding from scratch.
    """
    n = top.n
    start = np.where(base >= 0, base, -1)
    # Split every district (and the unassigned units) into connected pieces.
    key = np.where(start >= 0, start, -2 - np.arange(n))
    same = key[top.u] == key[top.v]
    pieces = components(n, top.u[same], top.v[same])
    # Each piece must also stay in one graph component (always true: pieces are connected).
    _, labels = np.unique(pieces, return_inverse=True)
    labels = np.asarray(labels, dtype=np.int64)
    for _round in range(4 * (int(labels.max()) + 1) + 10):
        if deadline is not None and time.perf_counter() > deadline:
            return None, "no valid plan found within the time limit"
        kk = int(labels.max()) + 1
        totals = np.bincount(labels, weights=weights, minlength=kk)
        viol = np.maximum(lo - totals, 0) + np.maximum(totals - hi, 0)
        if not (viol > 1e-9).any():
            if k is not None and kk != k:
                return None, f"the baseline repair gave {kk} areas, not {k}"
            return labels, ""
        worst = int(np.argmax(viol))
        region = np.array([worst])
        done = False
        for _grow in range(6):
            nb = _neighbour_districts(top, labels, region)
            region = np.union1d(region, nb)
            nodes = np.flatnonzero(np.isin(labels, region))
            total = float(weights[nodes].sum())
            fewest, most = feasibility.part_range(total, lo, hi)
            if fewest > most:
                continue
            m = min(max(len(region) - (1 if totals[worst] < lo else 0), fewest), most)
            if totals[worst] > hi:
                m = min(max(len(region) + 1, fewest), most)
            seeder = Seeder(
                top,
                weights,
                lo,
                hi,
                rng,
                budget=config.tree_budget * m + 50,
                deadline=deadline,
                attempts=config.split_attempts,
            )
            try:
                parts = seeder.split(nodes, m, k is None)
            except OutOfBudgetError:
                parts = None
            if parts is None:
                continue
            # Reuse the region's labels for its new parts (new labels for extra parts).
            free = list(region)
            for p in parts:
                labels[p] = free.pop(0) if free else int(labels.max()) + 1
            _, labels = np.unique(labels, return_inverse=True)
            labels = np.asarray(labels, dtype=np.int64)
            done = True
            break
        if not done:
            return None, "the baseline could not be repaired locally"
    return None, "the baseline could not be repaired locally"


def _neighbour_districts(top: Topology, labels: IntArray, region: IntArray) -> IntArray:
    la, lb = labels[top.u], labels[top.v]
    ina, inb = np.isin(la, region), np.isin(lb, region)
    return np.unique(np.concatenate([lb[ina & ~inb], la[inb & ~ina]]))


def _names(
    labels: IntArray, code_of: IntArray, base_names: list[str]
) -> tuple[IntArray, list[str]]:
    """Order districts (baseline ones first, by name) and name them."""
    k = int(labels.max()) + 1
    if not base_names:
        # Number districts west to east, then north to south is the grid code's business;
        # here: by first unit, which is deterministic.
        first = np.full(k, len(labels))
        np.minimum.at(first, labels, np.arange(len(labels)))
        order = np.argsort(first, kind="stable")
        remap = np.empty(k, dtype=np.int64)
        remap[order] = np.arange(k)
        return remap[labels], [str(i + 1) for i in range(k)]
    names: list[str] = []
    used = set(base_names)
    counter = 1
    for d in range(k):
        c = int(code_of[d]) if d < len(code_of) else -1
        if c >= 0:
            names.append(base_names[c])
        else:
            while f"new-{counter}" in used:
                counter += 1
            names.append(f"new-{counter}")
            used.add(names[-1])
    return labels, names


def _problems(
    totals: FloatArray,
    parts: IntArray,
    names: list[str],
    lo: float,
    hi: float,
    measure: str,
) -> list[str]:
    out: list[str] = []
    for i, nm in enumerate(names):
        if totals[i] < lo - 1e-9:
            out.append(f"area {nm} holds {totals[i]:,.0f} {measure}, below {lo:,.0f}")
        elif totals[i] > hi + 1e-9:
            out.append(f"area {nm} holds {totals[i]:,.0f} {measure}, above {hi:,.0f}")
        if parts[i] > 1:
            out.append(f"area {nm} is in {parts[i]} parts")
    return out
