"""One store, one district: a second subdistrict's layers beside the first are accepted (real
Tallahassee roads, cut into a western and an eastern half), another city's are not."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from gridplan.data.layers import LayerKind
from gridplan.data.place import require_same_place
from gridplan.data.readers import read_layer_file
from gridplan.data.store.base import Store
from gridplan.errors import InputError


def test_a_second_subdistrict_beside_the_first_is_the_same_place(
    store: Store, shared_data: Path
) -> None:
    path = shared_data / "tallahassee" / "tallahassee.gpkg"
    if not path.exists():
        pytest.fail(f"real data {path} is missing; tests that need it fail rather than skip")
    roads = read_layer_file(path, LayerKind.ROADS, layer="roads")
    x = roads.to_crs(2779).geometry.centroid.x
    west, east = roads[x < x.median()], roads[x >= x.median()]
    store.import_layers({LayerKind.ROADS: west}, source="west subdistrict")
    require_same_place(store, {LayerKind.ROADS: east}, source="east subdistrict")
    store.import_layers({LayerKind.ROADS: east}, source="east subdistrict")
    assert store.count(LayerKind.ROADS) == len(roads)
    far = east.to_crs(4326)
    far = gpd.GeoDataFrame(far, geometry=far.geometry.translate(5.0, 0.0), crs=4326)  # 5° east
    with pytest.raises(InputError, match="one store holds one place"):
        require_same_place(store, {LayerKind.ROADS: far}, source="far away")
