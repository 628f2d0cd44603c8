"""Per-area metrics: households, residents, road boundary share, parts, Polsby–Popper."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.roads import road_boundary_share
from gridplan.geo.rules.rule_context import RuleContext

Floats = npt.NDArray[np.float64]

#: Columns of :attr:`gridplan.geo.rules.report.CheckReport.areas`.
AREA_METRIC_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "households",
    "residents",
    "road_boundary_share",
    "parts",
    "polsby_popper",
)


def polsby_popper(geoms: npt.NDArray[np.object_]) -> Floats:
    """Polsby–Popper compactness ``4πA / P²`` (1 for a circle; ``NaN`` for empty shapes).

    Examples
    --------
    >>> import shapely
    >>> round(float(polsby_popper(np.array([shapely.box(0, 0, 1, 1)]))[0]), 4)
    0.7854
    """
    area = shapely.area(geoms)
    perimeter = shapely.length(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(perimeter > 0, 4.0 * np.pi * area / perimeter**2, np.nan)


def area_metrics(context: RuleContext) -> pd.DataFrame:
    """The per-area metrics table (see :data:`AREA_METRIC_COLUMNS`) of a check."""
    ctx = context.inputs
    nan = np.full(ctx.n, np.nan)
    households, residents = context.households, context.residents
    return pd.DataFrame(
        {
            "id": ctx.ids,
            "name": ctx.names,
            "households": households if households is not None else nan,
            "residents": residents if residents is not None else nan,
            "road_boundary_share": road_boundary_share(ctx, context.boundary),
            "parts": np.bincount(ctx.part_area, minlength=ctx.n).astype(np.int64),
            "polsby_popper": polsby_popper(ctx.geoms),
        }
    )
