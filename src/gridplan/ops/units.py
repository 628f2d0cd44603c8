"""Build units from a store's roads, buildings and compounds, and store them.

The one units pipeline, behind ``gridplan units`` and the demo: road-bounded blocks inside
the subdistrict outline (the store's outline, one given, else the convex hull of the roads,
which is then stored as the study area), households and residents from the buildings and from
the compounds that carry counts, totals conserved exactly (what could not be placed is listed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.data.crs import metric_crs, to_storage
from gridplan.data.layers import LayerKind, normalise, valid_polygons
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.cells import build_cells
from gridplan.geo.units import UnitParams, UnitsResult, build_units
from gridplan.ops.layers import read_layers

#: Unit grains: one unit per building inside each block, or the blocks themselves.
GRAINS: tuple[str, ...] = ("cell", "block")


@dataclass(frozen=True)
class BuiltUnits:
    """Units built from layers (and stored, for :func:`build_store_units`).

    Attributes
    ----------
    units
        The units layer (schema ``units``: ``unit_id``, ``households``, ``residents``,
        ``kind``, ``block_id``, ``compound_id``, ``area``), metric CRS.
    outline
        The outline the blocks tile (normalised ``outline`` layer).
    outline_source
        Where it came from: ``store``, ``file`` or ``roads hull``.
    result
        The full :class:`~gridplan.geo.units.UnitsResult` (blocks, placements, unplaced).
    compounds_used
        Whether compounds shaped the units (only compounds that carry counts do).
    import_id
        The store's import record of the units (``None`` when not stored).
    grain
        ``cell`` (one unit per building, each with its ``block_unit``) or ``block``.
    """

    units: gpd.GeoDataFrame
    outline: gpd.GeoDataFrame
    outline_source: str
    result: UnitsResult
    compounds_used: bool
    import_id: int | None = None
    grain: str = "cell"

    @property
    def households(self) -> float:
        """Households placed on units."""
        return float(self.units["households"].sum())

    @property
    def unplaced_households(self) -> float:
        """Households of the features that could not be placed (or were skipped)."""
        return float(pd.to_numeric(self.result.unplaced["households"]).fillna(0.0).sum())

    def to_json(self) -> dict[str, object]:
        """The ``gridplan units --format json`` document."""
        totals = self.result.totals
        return {
            "units": len(self.units),
            "grain": self.grain,
            "blocks": len(self.result.blocks),
            "block_units": len(self.result.units),
            "households": self.households,
            "residents": (
                float(self.units["residents"].sum())
                if self.units["residents"].notna().any()
                else None
            ),
            "outline": self.outline_source,
            "compounds_used": self.compounds_used,
            "unplaced": [
                {
                    "source": r["source"],
                    "feature": str(r["feature_id"]),
                    "households": float(r["households"]),
                    "reason": r["reason"],
                }
                for r in self.result.unplaced.to_dict(orient="records")
            ],
            "totals": totals.to_dict(orient="records"),
            "import_id": self.import_id,
        }


def build_layer_units(
    roads: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    outline: gpd.GeoDataFrame | None = None,
    params: UnitParams | None = None,
    grain: str = "cell",
) -> BuiltUnits:
    """Build units from plain layers.

    Parameters
    ----------
    roads
        Road centrelines (any CRS).
    buildings
        Buildings with ``households`` (e.g. estimated at import).
    compounds
        Compounds; only those with a household or resident count shape units (OSM residential
        landuse carries none: its buildings count instead).
    outline
        The subdistrict outline; default the convex hull of the roads.
    params
        Unit building parameters.
    grain
        ``cell`` (default): one unit per building inside each road block
        (:func:`gridplan.geo.cells.build_cells`), each with its ``block_unit``; ``block``:
        the road blocks (and carved compounds) themselves.

    Raises
    ------
    InputError
        If there are no roads, or ``grain`` is unknown.
    """
    if grain not in GRAINS:
        raise InputError(f"--grain {grain}: expected one of {', '.join(GRAINS)}")
    if roads is None or roads.empty:
        raise InputError("no roads to build units from: import roads (or an OSM extract) first")
    crs = metric_crs(roads, "roads")
    source = "given"
    if outline is None or outline.empty:
        hull = shapely.convex_hull(shapely.union_all(roads.to_crs(crs).geometry.values))
        outline = gpd.GeoDataFrame(
            {
                "outline_id": ["roads-hull"],
                "name": ["study area (hull of the roads)"],
                "code": [None],
            },
            geometry=[hull],
            crs=crs,
        )
        outline = normalise(LayerKind.OUTLINE, outline, source="outline")
        source = "roads hull"
    counted = None
    if compounds is not None and len(compounds):
        has = compounds["households"].notna() | compounds["residents"].notna()
        counted = compounds[has.to_numpy()] if has.any() else None
    result = build_units(
        roads, outline, buildings=buildings, compounds=counted, params=params, crs=crs
    )
    layer = result.units
    if not _any_residents(buildings, counted):  # no source counts residents: unknown, not 0
        layer = layer.assign(residents=np.nan)
        placements = result.placements.assign(residents=np.nan)
        result = replace(result, units=layer, placements=placements)
    if grain == "cell":
        anchors = {
            k: v for k, v in (("buildings", buildings), ("compounds", counted)) if v is not None
        }
        layer = build_cells(result.units, result.placements, anchors)
    units = normalise(LayerKind.UNITS, layer, source="units")
    return BuiltUnits(units, outline, source, result, counted is not None, grain=grain)


def storable(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Units as the store keeps them (EPSG:4326), each a valid polygon: a unit whose
    coordinates, rounded by the reprojection, touch themselves by a hair is repaired (its
    polygonal part), so what ``gridplan units`` stores is a valid input of the next step."""
    wgs = to_storage(units, "units")
    geoms = valid_polygons(wgs.geometry.values)
    return wgs.set_geometry(gpd.GeoSeries(geoms, index=wgs.index, crs=wgs.crs))


def _any_residents(*layers: gpd.GeoDataFrame | None) -> bool:
    return any(
        layer is not None
        and "residents" in layer.columns
        and pd.to_numeric(layer["residents"], errors="coerce").notna().any()
        for layer in layers
    )


def build_store_units(
    store: Store,
    *,
    outline: gpd.GeoDataFrame | None = None,
    params: UnitParams | None = None,
    grain: str = "cell",
) -> BuiltUnits:
    """Build units from the store's roads, buildings and compounds and store them.

    The units replace the store's units (they are derived from the layers; plans keep their
    own areas). A given ``outline`` is stored as the store's outline in the same
    transaction; without one (and without a stored outline) the blocks tile the convex hull
    of the roads, derived again on every run so that reruns give the same units.

    Raises
    ------
    InputError
        If the store holds no roads.
    """
    got = read_layers(
        store, (LayerKind.ROADS, LayerKind.BUILDINGS, LayerKind.COMPOUNDS, LayerKind.OUTLINE)
    )
    roads = got[LayerKind.ROADS]
    if roads is None:
        raise InputError(
            f"{store.url}: the store holds no roads; import roads or an OSM extract first "
            "(gridplan import FILE --kind roads|osm)"
        )
    given = outline is not None and not outline.empty
    use = outline if given else got[LayerKind.OUTLINE]
    built = build_layer_units(
        roads,
        buildings=got[LayerKind.BUILDINGS],
        compounds=got[LayerKind.COMPOUNDS],
        outline=use,
        params=params,
        grain=grain,
    )
    source = "file" if given else ("store" if use is not None else built.outline_source)
    layers = {LayerKind.UNITS: storable(built.units)}
    if source == "file":  # a derived hull is not stored: every run derives the same one
        layers[LayerKind.OUTLINE] = built.outline
    record = store.import_layers(layers, source=f"units ({source} outline)", replace=True)
    return BuiltUnits(
        built.units,
        built.outline,
        source,
        built.result,
        built.compounds_used,
        record.import_id,
        grain,
    )


__all__ = ["GRAINS", "BuiltUnits", "build_layer_units", "build_store_units"]
