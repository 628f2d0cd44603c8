"""``roads.off_road`` and the per-area ``road_boundary_share`` (以路为界).

A boundary piece follows a road when it lies within the road tolerance of a road centreline
and runs along it (:mod:`gridplan.geo.rules.boundary`). Only internal boundary counts: the
subdistrict outline is not the community's choice. Consecutive off-road pieces with the same
neighbour form a stretch; each stretch between two areas is reported once (from the area
listed first), with its length and its line.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.boundary import BoundaryPieces
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, plural, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

Floats = npt.NDArray[np.float64]


def road_boundary_share(ctx: CheckContext, pieces: BoundaryPieces) -> Floats:
    """Share of each area's internal boundary length that follows a road.

    ``NaN`` without roads, or for an area with no internal boundary.
    """
    if ctx.roads is None:
        return np.full(ctx.n, np.nan)
    m = pieces.internal
    total = np.bincount(pieces.area[m], weights=pieces.length[m], minlength=ctx.n)
    on = m & pieces.on_road
    road = np.bincount(pieces.area[on], weights=pieces.length[on], minlength=ctx.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, road / np.where(total > 0, total, 1.0), np.nan)


def off_road_findings(
    ctx: CheckContext, config: CheckConfig, pieces: BoundaryPieces
) -> pd.DataFrame:
    """One finding per off-road stretch at least ``config.off_road_min_length`` long."""
    if ctx.roads is None or len(pieces) == 0:
        return no_findings()
    n = len(pieces)
    pos = np.arange(n)
    off = pieces.internal & ~pieces.on_road
    own = (pieces.neighbour < 0) | (pieces.area < pieces.neighbour)
    keep = off & own
    if not keep.any():
        return no_findings()
    # Runs of consecutive kept pieces on the same ring with the same neighbour.
    idx = pos[keep]
    ring = pieces.ring[idx]
    nb = pieces.neighbour[idx]
    new = np.r_[True, (idx[1:] != idx[:-1] + 1) | (ring[1:] != ring[:-1]) | (nb[1:] != nb[:-1])]
    run = np.cumsum(new) - 1
    n_runs = int(run[-1]) + 1
    run_nb = nb[new]
    run_len = np.bincount(run, weights=pieces.length[idx], minlength=n_runs)
    # A run that ends a closed ring continues into the run that starts it.
    ring_first = _ring_bounds(pieces.ring)
    wraps = _wrap_pairs(idx, run, ring, nb, pieces, ring_first)
    # Coordinates of each run: every piece's start, then the last piece's end.
    last = np.r_[new[1:], True]
    slot = np.arange(len(idx)) + run
    xy = np.empty((len(idx) + n_runs, 2))
    xy[slot] = pieces.start[idx]
    xy[slot[last] + 1] = pieces.end[idx[last]]
    line_index = np.empty(len(idx) + n_runs, dtype=np.int64)
    line_index[slot] = run
    line_index[slot[last] + 1] = run[last]
    lines = shapely.linestrings(xy, indices=line_index)
    run_area = pieces.area[idx[new]]
    alive = np.ones(n_runs, dtype=bool)
    for head, tail in wraps:
        lines[head] = shapely.line_merge(shapely.multilinestrings([lines[tail], lines[head]]))
        run_len[head] += run_len[tail]
        alive[tail] = False
    chosen = np.flatnonzero(alive & (run_len >= config.off_road_min_length - 1e-9))
    if len(chosen) == 0:
        return no_findings()
    messages = []
    for r in chosen:
        a = int(run_area[r])
        where = (
            f"between {plural(ctx.level)} {label(ctx.ids, ctx.names, a)} and "
            f"{label(ctx.ids, ctx.names, int(run_nb[r]))}"
            if run_nb[r] >= 0
            else f"of {ctx.level} {label(ctx.ids, ctx.names, a)} (facing no other area)"
        )
        messages.append(
            f"boundary {where} runs {fmt(run_len[r])} m farther than "
            f"{fmt(config.road_tolerance)} m from any road"
        )
    return raw_findings(
        "roads.off_road", run_area[chosen], run_len[chosen], messages, lines[chosen]
    )


def _ring_bounds(ring: npt.NDArray[np.int64]) -> dict[int, tuple[int, int]]:
    """First and last piece position of each ring."""
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    ends = np.r_[starts[1:] - 1, len(ring) - 1]
    return {int(ring[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)}


def _wrap_pairs(
    idx: npt.NDArray[np.int64],
    run: npt.NDArray[np.int64],
    ring: npt.NDArray[np.int64],
    nb: npt.NDArray[np.int64],
    pieces: BoundaryPieces,
    bounds: dict[int, tuple[int, int]],
) -> list[tuple[int, int]]:
    """``(head_run, tail_run)`` pairs where a closed ring's last run continues its first."""
    pairs = []
    for r in np.unique(ring):
        if not pieces.ring_closed[r]:
            continue
        first, last = bounds[int(r)]
        k_first, k_last = np.searchsorted(idx, [first, last])
        if k_last >= len(idx) or idx[k_first] != first or idx[k_last] != last:
            continue
        if run[k_first] != run[k_last] and nb[k_first] == nb[k_last]:
            pairs.append((int(run[k_first]), int(run[k_last])))
    return pairs


def _off_road(context: RuleContext, config: CheckConfig) -> RuleResult:
    if context.inputs.roads is None:
        return RuleResult(notes=("roads not checked: no roads given",))
    return RuleResult(off_road_findings(context.inputs, config, context.boundary))


register(
    RuleSpec(
        id="roads.off_road",
        severity="warning",
        order=50,
        label="boundary off any road",
        style={"color": "#ff00ff", "weight": 5, "opacity": 0.9, "dashArray": "8 6"},
        run=_off_road,
    )
)
