"""The store's layers a plan is checked, drawn and run against."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.geo.rules import CheckLayers


def read_layers(
    store: Store, kinds: Iterable[LayerKind]
) -> dict[LayerKind, gpd.GeoDataFrame | None]:
    """The store's layers of ``kinds`` (``None`` for a layer the store holds nothing of)."""
    return {kind: store.read_layer(kind) if store.count(kind) else None for kind in kinds}


def read_check_layers(store: Store) -> CheckLayers:
    """The store's roads, compounds, outline and units, and the facilities, paths and
    buildings of the walking reach (``None`` for an empty layer): what a stored plan is
    checked against, by every adapter (``gridplan check --db``, ``GET /plans/{id}/checks``,
    the map, the demo, a scenario before its plan is stored)."""
    got = read_layers(
        store,
        (
            LayerKind.ROADS,
            LayerKind.COMPOUNDS,
            LayerKind.OUTLINE,
            LayerKind.UNITS,
            LayerKind.FACILITIES,
            LayerKind.PATHS,
            LayerKind.BUILDINGS,
        ),
    )
    return CheckLayers(
        roads=got[LayerKind.ROADS],
        compounds=got[LayerKind.COMPOUNDS],
        outline=got[LayerKind.OUTLINE],
        units=got[LayerKind.UNITS],
        facilities=got[LayerKind.FACILITIES],
        paths=got[LayerKind.PATHS],
        buildings=got[LayerKind.BUILDINGS],
    )


__all__ = ["read_check_layers", "read_layers"]
