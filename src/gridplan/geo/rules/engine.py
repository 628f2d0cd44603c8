"""``check_areas``: run every rule on a set of community or grid polygons."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.data.layers import FINDING_COLUMNS
from gridplan.geo.rules.boundary import boundary_pieces
from gridplan.geo.rules.compounds import compound_findings
from gridplan.geo.rules.config import RULES, CheckConfig
from gridplan.geo.rules.context import build_context
from gridplan.geo.rules.coverage import coverage_findings
from gridplan.geo.rules.enclave import embedded_findings, exclave_findings
from gridplan.geo.rules.households import compound_pieces, part_counts
from gridplan.geo.rules.metrics import area_metrics
from gridplan.geo.rules.overrides import override_findings
from gridplan.geo.rules.report import CheckReport
from gridplan.geo.rules.roads import off_road_findings, road_boundary_share
from gridplan.geo.rules.size import size_findings
from gridplan.plan import Level

Floats = npt.NDArray[np.float64]


def check_areas(
    areas: gpd.GeoDataFrame,
    *,
    level: Level | str = "community",
    roads: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    outline: gpd.GeoDataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    config: CheckConfig | None = None,
    overrides: pd.DataFrame | None = None,
) -> CheckReport:
    """Check community (or grid) polygons against the boundary rules.

    Parameters
    ----------
    areas
        The polygons, any CRS, as an ``areas`` layer (``area_id``, ``name``, ``households``,
        ``residents``; see :mod:`gridplan.data.layers`) or raw columns that
        :func:`~gridplan.data.layers.normalise` understands.
    level
        ``community`` or ``grid``: picks the size band and labels the findings.
    roads
        Road centrelines (``road_class`` used when ``config.road_classes`` is set). Without
        them the road rule is not run and ``road_boundary_share`` is ``NaN``.
    compounds
        Compound polygons or points with ``households`` / ``residents``.
    outline
        The subdistrict outline; default: the union of the areas with holes filled.
    units
        Units (polygons with ``households`` / ``residents``) to count households from.
    config
        Bands and tolerances (default :class:`CheckConfig()`).
    overrides
        Named assignments, compound name → community name (columns ``compound``,
        ``community``; e.g. :func:`gridplan.data.reference.load_overrides`): rule
        ``compound.override_violated``. Overrides naming a compound or community that is not
        in the data are listed in the report's notes.

    Returns
    -------
    CheckReport
        Per-area metrics and the findings (in the CRS of ``areas``).

    Notes
    -----
    Households (and residents) per area come from the areas' own column, else from the units
    inside them (by representative point), else from the compounds (polygons by the share of
    their area inside, points by containment). Everything is computed in
    :func:`gridplan.data.crs.metric_crs` of the areas.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> areas = gpd.GeoDataFrame(
    ...     {"area_id": ["a", "b"], "households": [800.0, 2000.0]},
    ...     geometry=[shapely.box(0, 0, 500, 500), shapely.box(500, 0, 1000, 500)],
    ...     crs=32650)
    >>> report = check_areas(areas)
    >>> report.by_rule()
    {'size.under': 1}
    """
    cfg = config if config is not None else CheckConfig()
    ctx = build_context(
        areas,
        level=level,
        roads=roads,
        compounds=compounds,
        outline=outline,
        units=units,
        config=cfg,
    )
    pieces = boundary_pieces(ctx, cfg)
    comp = compound_pieces(ctx)
    counts = part_counts(ctx, comp)
    households = _per_area(ctx.households, counts.households, ctx.part_area, ctx.n)
    residents = _per_area(ctx.residents, counts.residents, ctx.part_area, ctx.n)
    measure = households if cfg.measure == "households" else residents
    notes: list[str] = []
    band: tuple[float, float] | None = None
    if measure is None:
        notes.append(f"size not checked: no {cfg.measure} per {ctx.level} are known")
    else:
        band = cfg.band(ctx.level)
    if ctx.roads is None:
        notes.append("roads not checked: no roads given")
    share = road_boundary_share(ctx, pieces)
    coverage = coverage_findings(ctx, cfg)
    named = override_findings(ctx, comp, overrides)
    notes.extend(named.notes)
    raw = [
        size_findings(ctx, cfg, measure),
        exclave_findings(ctx, pieces, counts.households, counts.residents, households, residents),
        embedded_findings(ctx, cfg, pieces, households),
        off_road_findings(ctx, cfg, pieces),
        coverage.findings,
        compound_findings(ctx, cfg, comp),
        named.findings,
    ]
    frames = [f for f in raw if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else raw[0]
    order = {rule: k for k, rule in enumerate(RULES)}
    table = (
        table.assign(_order=table["rule"].map(order))
        .sort_values(["_order", "area", "value"], kind="stable")
        .reset_index(drop=True)
    )
    area_idx = table["area"].to_numpy(dtype=np.int64)
    area_ids = np.where(area_idx >= 0, ctx.ids[np.clip(area_idx, 0, None)], None)
    findings = gpd.GeoDataFrame(
        {
            "rule": table["rule"].astype(object),
            "severity": table["rule"].map(cfg.severities).astype(object),
            "level": [ctx.level] * len(table),
            "area_id": pd.Series(area_ids, dtype=object),
            "value": table["value"].astype(float),
            "message": table["message"].astype(object),
        },
        geometry=gpd.GeoSeries(table["geometry"].to_numpy(dtype=object), crs=ctx.crs),
        crs=ctx.crs,
    )
    findings = findings.to_crs(ctx.source_crs)
    assert list(findings.columns[:-1]) == list(FINDING_COLUMNS)
    return CheckReport(
        level=ctx.level,
        measure=cfg.measure,
        band=band,
        areas=area_metrics(ctx, households, residents, share),
        findings=findings,
        ignored_slivers={
            "coverage.gap": coverage.ignored_gaps,
            "coverage.overlap": coverage.ignored_overlaps,
            "enclave.exclave": ctx.sliver_parts,
        },
        notes=tuple(notes),
    )


def _per_area(
    column: Floats | None,
    per_part: Floats | None,
    part_area: npt.NDArray[np.int64],
    n: int,
) -> Floats | None:
    """The areas' own column, its gaps filled from the parts' counts."""
    derived = (
        np.bincount(part_area, weights=per_part, minlength=n).astype(float)
        if per_part is not None
        else None
    )
    if column is None:
        return derived
    if derived is None:
        return column
    return np.where(np.isnan(column), derived, column)
