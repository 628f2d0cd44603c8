"""``compound.split`` (a compound cut by a boundary) and ``compound.unassigned``.

A compound polygon is split when at least two sides — areas, or "no area" for its part inside
the outline but outside every area — each hold at least ``compound_min_share`` of its area; the
message gives the share on each side. A compound holding more than the level's ceiling (its own
count, else the units inside it: the cells of its buildings) cannot fit one area and must be
divided, so its division is not a finding. A compound with no count of its own that a road runs
through (OSM residential landuse spanning several blocks: a neighbourhood, not one gated
compound, which is why it shapes no unit either) is not reported when divided. A compound is
unassigned when no area holds that share of it (a point: when no area contains it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.errors import InputError
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.households import CompoundPieces
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext


@dataclass(frozen=True)
class _Sides:
    """Where each compound lies: the areas holding at least the minimum share of it."""

    held: dict[int, pd.DataFrame]  # compound -> rows (area, share), largest share first
    outside: npt.NDArray[np.float64]  # share of each compound in no area


def _sides(ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces) -> _Sides:
    assert ctx.compounds is not None
    geoms = np.asarray(ctx.compounds.geometry.values, dtype=object)
    sides = pieces.table.groupby(["compound", "area"], as_index=False)["share"].sum()
    covered = np.bincount(
        sides["compound"].to_numpy(dtype=np.int64),
        weights=sides["share"].to_numpy(dtype=float),
        minlength=len(geoms),
    )
    # a part beyond the outline is outside the plan's reach, not "in no area"
    within = np.ones(len(geoms), dtype=float)
    polys = np.isin(shapely.get_type_id(geoms), [3, 6])
    if ctx.outline is not None and not shapely.is_empty(ctx.outline) and polys.any():
        whole = shapely.area(geoms[polys])
        inside = shapely.area(shapely.intersection(geoms[polys], ctx.outline))
        within[polys] = np.where(whole > 0, inside / np.where(whole > 0, whole, 1.0), 1.0)
    outside: npt.NDArray[np.float64] = np.clip(within - covered, 0.0, 1.0).astype(float)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    outside[is_point] = np.where(covered[is_point] > 0, 0.0, 1.0)
    big = sides[sides["share"] >= config.compound_min_share].sort_values(
        ["compound", "share", "area"], ascending=[True, False, True]
    )
    return _Sides({int(k): g for k, g in big.groupby("compound")}, outside)


def split_findings(
    ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces | None
) -> pd.DataFrame:
    """One finding per compound cut by a boundary (``compound.split``).

    ``area`` is the area holding most of it, ``value`` the share of it outside that area.
    """
    if ctx.compounds is None or pieces is None or len(ctx.compounds) == 0:
        return no_findings()
    comp = ctx.compounds
    geoms = np.asarray(comp.geometry.values, dtype=object)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    where = _sides(ctx, config, pieces)
    too_big = _above_ceiling(ctx, config) | _uncounted_across_roads(ctx) | _whole_in_units(ctx)
    areas, values, messages, shapes = [], [], [], []
    for c in range(len(comp)):
        held = where.held.get(c)
        if held is None or too_big[c]:
            continue
        out_share = float(where.outside[c])
        with_outside = out_share >= config.compound_min_share
        if len(held) + int(with_outside) < 2:
            continue
        parts = [
            f"{share:.0%} in {label(ctx.ids, ctx.names, int(a))}"
            for a, share in zip(held["area"], held["share"], strict=True)
        ]
        if with_outside:
            parts.append(f"{out_share:.0%} in no {ctx.level}")
        areas.append(int(held["area"].iloc[0]))
        values.append(1.0 - float(held["share"].iloc[0]))
        messages.append(
            f"compound {label(cids, cnames, c)} is cut by a boundary: " + ", ".join(parts)
        )
        shapes.append(geoms[c])
    return raw_findings("compound.split", areas, values, messages, shapes)


def _whole_in_units(ctx: CheckContext) -> npt.NDArray[np.bool_]:
    """Whether each compound without a count of its own is whole at the grain of the units
    (a counted compound shapes the units — carved, or divided along its buildings — so its
    polygon follows unit edges and its area tells): every unit whose
    representative point lies in it (its buildings' cells, or the compound's own unit) lies in
    one area; or none does (no building of it is a unit: an empty piece of landuse).

    A plan cannot divide finer than its units, so a compound drawn across the edges of cells
    that all went to one grid is not split, though a sliver of its polygon lies in the next
    grid's cells. Without units every compound is judged by its area alone."""
    assert ctx.compounds is not None
    comp = ctx.compounds
    out = np.zeros(len(comp), dtype=bool)
    units = ctx.units
    if units is None or not len(units):
        return out
    geoms = np.asarray(comp.geometry.values, dtype=object)
    counted = _counted(comp)
    polys = np.flatnonzero(np.isin(shapely.get_type_id(geoms), [3, 6]) & ~counted)
    if not len(polys):
        return out
    points = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
    pi, ai = shapely.STRtree(np.asarray(ctx.geoms, dtype=object)).query(points, predicate="within")
    area_of = np.full(len(points), -1, dtype=np.int64)
    area_of[pi[::-1]] = ai[::-1]  # the first area holding each point
    ci, ui = shapely.STRtree(points).query(geoms[polys], predicate="contains")
    areas_per = pd.Series(area_of[ui]).groupby(ci).nunique()
    whole = np.ones(len(polys), dtype=bool)  # no unit inside: no building of it, no household
    whole[areas_per.index.to_numpy(dtype=np.int64)] = areas_per.to_numpy() <= 1
    out[polys] = whole
    return out


def _above_ceiling(ctx: CheckContext, config: CheckConfig) -> npt.NDArray[np.bool_]:
    """Whether each compound holds more than the level's ceiling: its own count of the band's
    measure, else the sum over the units whose representative point lies inside it."""
    assert ctx.compounds is not None
    comp = ctx.compounds
    none = np.zeros(len(comp), dtype=bool)
    try:
        ceiling = config.band(ctx.level)[1]
    except InputError:
        return none
    measure = config.measure
    own = (
        pd.to_numeric(comp[measure], errors="coerce").to_numpy(dtype=float)
        if measure in comp.columns
        else np.full(len(comp), np.nan)
    )
    size = own.copy()
    units = ctx.units
    unknown = np.flatnonzero(~np.isfinite(own))
    if len(unknown) and units is not None and len(units) and measure in units.columns:
        geoms = np.asarray(comp.geometry.values, dtype=object)[unknown]
        polys = np.isin(shapely.get_type_id(geoms), [3, 6])
        counts = pd.to_numeric(units[measure], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        points = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
        ci, ui = shapely.STRtree(points).query(geoms[polys], predicate="contains")
        sums = np.bincount(ci, weights=counts[ui], minlength=int(polys.sum()))
        size[unknown[polys]] = sums
    return np.isfinite(size) & (size > ceiling)


#: A road runs through a compound when at least this many metres of it lie more than
#: :data:`_EDGE` metres inside the compound's edge (a road drawn along the edge does not).
_THROUGH = 20.0
_EDGE = 2.0


def _counted(comp: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Whether each compound carries a household or resident count of its own."""
    counted = np.zeros(len(comp), dtype=bool)
    for col in ("households", "residents"):
        if col in comp.columns:
            counted |= np.isfinite(pd.to_numeric(comp[col], errors="coerce").to_numpy(float))
    return counted


def _uncounted_across_roads(ctx: CheckContext) -> npt.NDArray[np.bool_]:
    """Whether each compound has no household or resident count and a road runs through it."""
    assert ctx.compounds is not None
    comp = ctx.compounds
    out = np.zeros(len(comp), dtype=bool)
    if ctx.roads is None or not len(ctx.roads):
        return out
    counted = _counted(comp)
    geoms = np.asarray(comp.geometry.values, dtype=object)
    candidates = np.flatnonzero(~counted & np.isin(shapely.get_type_id(geoms), [3, 6]))
    if not len(candidates):
        return out
    cores = shapely.buffer(geoms[candidates], -_EDGE)
    roads = np.asarray(ctx.roads.geometry.values, dtype=object)
    ci, ri = shapely.STRtree(roads).query(cores, predicate="intersects")
    inside = shapely.length(shapely.intersection(roads[ri], cores[ci]))
    through = np.bincount(ci, weights=inside, minlength=len(candidates)) >= _THROUGH
    out[candidates[through]] = True
    return out


def unassigned_findings(
    ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces | None
) -> pd.DataFrame:
    """One finding per compound no area holds enough of (``compound.unassigned``).

    ``area`` is ``-1``, ``value`` the compound's households.
    """
    if ctx.compounds is None or pieces is None or len(ctx.compounds) == 0:
        return no_findings()
    comp = ctx.compounds
    geoms = np.asarray(comp.geometry.values, dtype=object)
    hh = comp["households"].to_numpy(dtype=float)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    where = _sides(ctx, config, pieces)
    lost = [c for c in range(len(comp)) if c not in where.held]
    messages = [
        f"compound {label(cids, cnames, c)} ({fmt(hh[c])} households) lies in no {ctx.level}"
        for c in lost
    ]
    return raw_findings("compound.unassigned", [-1] * len(lost), hh[lost], messages, geoms[lost])


def _split(context: RuleContext, config: CheckConfig) -> RuleResult:
    return RuleResult(split_findings(context.inputs, config, context.compound_pieces))


def _unassigned(context: RuleContext, config: CheckConfig) -> RuleResult:
    return RuleResult(unassigned_findings(context.inputs, config, context.compound_pieces))


register(
    RuleSpec(
        id="compound.split",
        severity="warning",
        order=80,
        label="compound cut by a boundary",
        style={
            "color": "#8b4513",
            "weight": 3,
            "fillColor": "#8b4513",
            "fillOpacity": 0.5,
            "dashArray": "6 3",
        },
        run=_split,
    )
)
register(
    RuleSpec(
        id="compound.unassigned",
        severity="error",
        order=90,
        label="compound in no area",
        style={"color": "#607d8b", "weight": 3, "fillColor": "#cfd8dc", "fillOpacity": 0.7},
        run=_unassigned,
    )
)
