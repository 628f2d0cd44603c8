"""Shapefiles in GBK (older Chinese GIS software) without a .cpg naming their encoding."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gridplan.data.layers import LayerKind
from gridplan.data.readers import read_layer_file
from gridplan.errors import InputError


def _gbk_shapefile(tmp_path: Path) -> Path:
    path = tmp_path / "communities.shp"
    gpd.GeoDataFrame(
        {"名称": ["青新社区", "锦青社区"], "户数": [1200, 2400]},
        geometry=[
            shapely.box(118.58, 24.80, 118.59, 24.81),
            shapely.box(118.59, 24.80, 118.6, 24.81),
        ],
        crs=4326,
    ).to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


def test_a_gbk_shapefile_reads_with_its_encoding_named(tmp_path: Path) -> None:
    areas = read_layer_file(_gbk_shapefile(tmp_path), LayerKind.AREAS, encoding="GBK")
    assert list(areas["name"]) == ["青新社区", "锦青社区"]
    assert list(areas["households"]) == [1200.0, 2400.0]


def test_without_it_the_error_says_which_option_reads_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not UTF-8; name its encoding with --encoding"):
        read_layer_file(_gbk_shapefile(tmp_path), LayerKind.AREAS)
