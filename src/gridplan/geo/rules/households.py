"""Households and residents per area part, from compounds or units.

An area's households come from its own column when it has one; otherwise they are summed
from the units inside it (each unit by its representative point), else from the compounds:
a compound polygon contributes in proportion to the share of its area inside the part, a
compound point wholly to the part containing it. The same overlap table drives the
``compound.*`` rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.context import CheckContext

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CompoundPieces:
    """Where each compound lies: one row per (compound, part) overlap.

    ``table`` columns: ``compound`` (row in :attr:`CheckContext.compounds`), ``part``,
    ``area`` (area index), ``share`` (of the compound's area, ``1`` for points), ``geometry``
    (the overlap, or the point).
    """

    table: pd.DataFrame


@dataclass(frozen=True)
class PartCounts:
    """Households and residents per part (``None`` when no source gives them).

    Parameters
    ----------
    households, residents
        Counts per part (aligned with :attr:`CheckContext.parts`).
    source
        Where they came from: ``"units"``, ``"compounds"`` or ``""``.
    """

    households: Floats | None
    residents: Floats | None
    source: str


def compound_pieces(ctx: CheckContext) -> CompoundPieces | None:
    """Overlay the compounds on the area parts (``None`` without compounds)."""
    if ctx.compounds is None:
        return None
    geoms = np.asarray(ctx.compounds.geometry.values, dtype=object)
    tree = shapely.STRtree(ctx.parts)
    c, p = tree.query(geoms, predicate="intersects")
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    pieces = np.empty(len(c), dtype=object)
    share = np.ones(len(c))
    poly = ~is_point[c]
    if poly.any():
        pieces[poly] = shapely.intersection(geoms[c[poly]], ctx.parts[p[poly]])
        share[poly] = shapely.area(pieces[poly]) / shapely.area(geoms[c[poly]])
    if (~poly).any():
        pieces[~poly] = geoms[c[~poly]]
    table = pd.DataFrame(
        {
            "compound": c.astype(np.int64),
            "part": p.astype(np.int64),
            "area": ctx.part_area[p],
            "share": share,
            "geometry": pieces,
        }
    )
    table = table[(table["share"] > 0).to_numpy()]
    # A point on a shared boundary belongs to one part only: the first.
    point_rows = ~poly[table.index.to_numpy()]
    dup = point_rows & table["compound"].duplicated().to_numpy()
    table = table[~dup].reset_index(drop=True)
    return CompoundPieces(table)


def part_counts(ctx: CheckContext, pieces: CompoundPieces | None) -> PartCounts:
    """Households and residents per part from units, else compounds."""
    n = len(ctx.parts)
    if ctx.units is not None and len(ctx.units):
        points = shapely.point_on_surface(np.asarray(ctx.units.geometry.values, dtype=object))
        tree = shapely.STRtree(ctx.parts)
        u, p = tree.query(points, predicate="intersects")
        first = np.r_[True, u[1:] != u[:-1]] if len(u) else np.zeros(0, dtype=bool)
        u, p = u[first], p[first]
        return PartCounts(
            _sum(p, ctx.units["households"].to_numpy(dtype=float)[u], n),
            _sum(p, ctx.units["residents"].to_numpy(dtype=float)[u], n),
            "units",
        )
    if pieces is not None and ctx.compounds is not None:
        t = pieces.table
        c = t["compound"].to_numpy(dtype=np.int64)
        p = t["part"].to_numpy(dtype=np.int64)
        share = t["share"].to_numpy(dtype=float)
        hh = ctx.compounds["households"].to_numpy(dtype=float)
        res = ctx.compounds["residents"].to_numpy(dtype=float)
        return PartCounts(_sum(p, hh[c] * share, n), _sum(p, res[c] * share, n), "compounds")
    return PartCounts(None, None, "")


def _sum(index: npt.NDArray[np.int64], values: Floats, n: int) -> Floats | None:
    """Sum ``values`` per index; ``None`` when every value is missing."""
    if len(values) == 0 or np.isnan(values).all():
        return None if len(values) else np.zeros(n)
    return np.bincount(index, weights=np.nan_to_num(values), minlength=n).astype(float)
