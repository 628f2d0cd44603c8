"""The ``paths`` layer (walkable ways): schema, import of a line file, both stores."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, Point

from gridplan.data.importer import import_file
from gridplan.data.layers import LayerKind, schema
from gridplan.data.store.base import Store
from gridplan.errors import InvalidFeaturesError


def _paths_file(tmp_path: Path) -> Path:
    """Two walkable ways near Chengdu, tagged like OSM (``highway``)."""
    gdf = gpd.GeoDataFrame(
        {"highway": ["footway", "steps"], "name": ["林荫道", None]},
        geometry=[
            LineString([(104.05, 30.66), (104.051, 30.661)]),
            LineString([(104.051, 30.661), (104.052, 30.661)]),
        ],
        crs=4326,
    )
    path = tmp_path / "paths.geojson"
    gdf.to_file(path)
    return path


def test_schema_of_paths() -> None:
    sch = schema("paths")
    assert sch.kind is LayerKind.PATHS
    assert sch.all_columns == ["path_id", "path_class", "name"]
    assert sch.geometry_types == {"LineString", "MultiLineString"}


def test_import_a_line_file_as_paths(store: Store, tmp_path: Path) -> None:
    result = import_file(store, _paths_file(tmp_path), "paths")
    assert dict(result.loaded) == {"paths": 2}
    paths = store.read_layer(LayerKind.PATHS)
    assert list(paths["path_class"]) == ["footway", "steps"]
    assert list(paths["name"]) == ["林荫道", None]
    assert store.count(LayerKind.PATHS) == 2
    assert paths.geometry.iloc[1].equals_exact(
        LineString([(104.051, 30.661), (104.052, 30.661)]), 1e-9
    )


def test_points_are_not_paths(tmp_path: Path, gpkg_store: Store) -> None:
    gdf = gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(104.05, 30.66)], crs=4326)
    path = tmp_path / "points.geojson"
    gdf.to_file(path)
    with pytest.raises(InvalidFeaturesError, match="paths feature 1"):
        import_file(gpkg_store, path, "paths")
    assert gpkg_store.count(LayerKind.PATHS) == 0
