"""``coverage.gap`` and ``coverage.overlap`` inside the outline.

Overlaps are the polygonal intersections of areas that the ``STRtree`` pairs as
intersecting (skipped outright when GEOS says the areas form a valid coverage). Gaps are the
parts of the outline (by default: the areas' union with its holes filled) that no area
covers. A gap or overlap narrower than the sliver width — its negative buffer by half the
width is empty — is a digitising sliver: it is ignored and counted.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, plural, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

Geoms = npt.NDArray[np.object_]


def _gap(context: RuleContext, config: CheckConfig) -> RuleResult:
    findings, ignored = gap_findings(context.inputs, config)
    return RuleResult(findings, ignored_slivers=ignored)


def _overlap(context: RuleContext, config: CheckConfig) -> RuleResult:
    findings, ignored = overlap_findings(context.inputs, config)
    return RuleResult(findings, ignored_slivers=ignored)


def _polygons(geoms: Geoms) -> tuple[Geoms, npt.NDArray[np.int64]]:
    """Polygon parts of ``geoms`` (collections exploded) with the index of their source."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    while True:
        nested = shapely.get_type_id(parts) == shapely.GeometryType.GEOMETRYCOLLECTION
        if not nested.any():
            break
        inner, where = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        index = np.concatenate([index[~nested], index[nested][where]])
    poly = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (shapely.area(parts) > 0)
    return parts[poly], index[poly].astype(np.int64)


def _is_sliver(polys: Geoms, width: float) -> npt.NDArray[np.bool_]:
    return np.asarray(shapely.is_empty(shapely.buffer(polys, -width / 2.0)), dtype=bool)


def overlap_findings(ctx: CheckContext, config: CheckConfig) -> tuple[pd.DataFrame, int]:
    """One finding per pair of overlapping areas, and the number of overlap slivers ignored."""
    if ctx.coverage_valid or ctx.n < 2:
        return no_findings(), 0
    tree = shapely.STRtree(ctx.geoms)
    a, b = tree.query(ctx.geoms, predicate="intersects")
    pair = a < b
    a, b = a[pair], b[pair]
    # Touching pairs share only lines or points: their interiors do not meet.
    touching = shapely.touches(ctx.geoms[a], ctx.geoms[b])
    a, b = a[~touching], b[~touching]
    if len(a) == 0:
        return no_findings(), 0
    inter = shapely.intersection(ctx.geoms[a], ctx.geoms[b])
    inter = shapely.intersection(inter, ctx.outline)
    polys, src = _polygons(inter)
    sliver = _is_sliver(polys, config.sliver_width)
    ignored = int(sliver.sum())
    polys, src = polys[~sliver], src[~sliver]
    if len(polys) == 0:
        return no_findings(), ignored
    frame = pd.DataFrame({"src": src, "geometry": polys, "area": shapely.area(polys)})
    grouped = frame.groupby("src", sort=True)
    pairs = grouped["area"].sum()
    merged = grouped["geometry"].agg(lambda g: shapely.union_all(np.asarray(g, dtype=object)))
    areas, values, messages, geoms = [], [], [], []
    for s, size in zip(pairs.index.tolist(), pairs.tolist(), strict=True):
        i, j = int(a[int(s)]), int(b[int(s)])
        areas.append(i)
        values.append(float(size))
        messages.append(
            f"{plural(ctx.level)} {label(ctx.ids, ctx.names, i)} and "
            f"{label(ctx.ids, ctx.names, j)} overlap by {fmt(float(size))} m²"
        )
        geoms.append(merged[s])
    return raw_findings("coverage.overlap", areas, values, messages, geoms), ignored


def gap_findings(ctx: CheckContext, config: CheckConfig) -> tuple[pd.DataFrame, int]:
    """One finding per gap inside the outline, and the number of gap slivers ignored."""
    # Without a given outline, ctx.outline is the union with its holes filled.
    uncovered = shapely.difference(ctx.outline, ctx.union)
    polys, _ = _polygons(np.asarray([uncovered], dtype=object))
    if len(polys) == 0:
        return no_findings(), 0
    sliver = _is_sliver(polys, config.sliver_width)
    ignored = int(sliver.sum())
    gaps = polys[~sliver]
    if len(gaps) == 0:
        return no_findings(), ignored
    tree = shapely.STRtree(ctx.geoms)
    g, a = tree.query(gaps, predicate="dwithin", distance=config.sliver_width)
    shared = shapely.length(
        shapely.intersection(
            shapely.boundary(ctx.geoms[a]), shapely.buffer(gaps[g], config.sliver_width)
        )
    )
    frame = pd.DataFrame({"gap": g, "area": a, "shared": shared}).sort_values(
        ["gap", "shared", "area"], ascending=[True, False, True]
    )
    around = frame.groupby("gap")["area"].agg(list)
    areas, values, messages = [], [], []
    for k, poly in enumerate(gaps):
        size = float(shapely.area(poly))
        nbs = around.get(k, [])
        areas.append(int(nbs[0]) if nbs else -1)
        values.append(size)
        names = ", ".join(label(ctx.ids, ctx.names, int(x)) for x in nbs[:5])
        more = f" and {len(nbs) - 5} more" if len(nbs) > 5 else ""
        messages.append(
            f"gap of {fmt(size)} m² covered by no {ctx.level}"
            + (f", between {names}{more}" if nbs else "")
        )
    return raw_findings("coverage.gap", areas, values, messages, gaps), ignored


register(
    RuleSpec(
        id="coverage.gap",
        severity="error",
        order=60,
        label="gap covered by no area",
        style={"color": "#000000", "weight": 2, "fillColor": "#000000", "fillOpacity": 0.6},
        run=_gap,
    )
)
register(
    RuleSpec(
        id="coverage.overlap",
        severity="error",
        order=70,
        label="overlap of two areas",
        style={"color": "#ffd600", "weight": 2, "fillColor": "#ffd600", "fillOpacity": 0.7},
        run=_overlap,
    )
)
