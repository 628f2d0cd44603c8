"""File readers on the real data in ../shared/data and on small hand-made files.

The hand-made layers sit in Jinjiang (about 118.58° E, 24.80° N)::

    (118.580, 24.802) a ---- b (118.582, 24.802)      points a, b: compounds
                              |
    (118.580, 24.800)         c (118.582, 24.800)     a-b-c: one road line
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point, box

from gridplan.data.crs import (
    GCJ02_ROUNDTRIP_TOLERANCE_M,
    metric_crs,
    to_storage,
    wgs84_to_gcj02,
)
from gridplan.data.layers import LayerKind, validate
from gridplan.data.readers import read_layer_file, read_table
from gridplan.errors import CRSError, InputError

pytestmark = pytest.mark.realdata


# --- real data --------------------------------------------------------------------------


def test_tallahassee_roads_tiger(shared_data: Path) -> None:
    roads = read_layer_file(shared_data / "tallahassee/tallahassee.gpkg", "roads")
    assert len(roads) == 567
    assert roads.crs.to_epsg() == 2779
    assert roads["road_class"].value_counts().to_dict() == {
        "local": 464,
        "secondary": 94,
        "motorway": 9,  # 3 S1100 primary roads + 6 S1630 ramps
    }
    assert "I- 10" in set(roads["name"])  # FULLNAME → name
    assert "MTFCC" in roads.columns and "TLID" in roads.columns  # extras kept
    assert roads["road_id"].is_unique  # TLID repeats, so ids are row numbers
    assert validate(LayerKind.ROADS, roads)[1] == []
    assert metric_crs(roads).to_epsg() == 2779  # its own projected CRS (metres) is kept


def test_tallahassee_block_points(shared_data: Path) -> None:
    path = shared_data / "tallahassee/tallahassee.gpkg"
    with pytest.raises(InputError, match="roads, block_points"):
        read_layer_file(path, "compounds")
    with pytest.raises(InputError, match="no layer 'blocks'"):
        read_layer_file(path, "compounds", layer="blocks")
    points = read_layer_file(path, "compounds", layer="block_points")
    assert len(points) == 254
    assert points.crs.to_epsg() == 4269
    assert points["households"].sum() == 7102  # HU100
    assert points["residents"].sum() == 13878  # POP100
    assert points["compound_id"].iloc[0] == "120730016011014"  # GEOID, as text
    assert metric_crs(points).to_epsg() == 32616  # NAD83 lon/lat → UTM 16N


def test_providence_blocks(shared_data: Path) -> None:
    blocks = read_layer_file(shared_data / "providence/providence_blocks.gpkg", "units")
    assert len(blocks) == 3014
    assert blocks["residents"].sum() == 178040  # TOTPOP
    assert blocks["unit_id"].str.len().eq(15).all()  # GEOID10
    assert blocks.crs.to_epsg() == 4269
    assert metric_crs(blocks).to_epsg() == 32619  # UTM 19N
    wards = read_layer_file(
        shared_data / "providence/providence_wards.gpkg", "areas", fields={"name": "id"}
    )
    assert sorted(wards["area_id"].astype(int)) == list(range(1, 16))
    assert wards["name"].notna().all()


def test_jinjiang_outline_cgcs2000(shared_data: Path) -> None:
    outline = read_layer_file(shared_data / "qingyang/jinjiang_outline.geojson", "outline")
    assert outline.crs.to_epsg() == 4490  # kept; the store reprojects
    assert outline["name"].tolist() == ["晋江市"]
    assert outline["code"].tolist() == ["156350582"]  # gb
    assert metric_crs(outline).to_epsg() == 32650
    stored = to_storage(outline)
    assert stored.crs.to_epsg() == 4326
    # CGCS2000 and WGS84 agree far below planning resolution (null transformation)
    assert np.allclose(stored.total_bounds, outline.total_bounds, atol=1e-6)


def test_qingyang_reference_tables(shared_data: Path) -> None:
    villages = read_table(shared_data / "qingyang/jinjiang_villages_2023.csv")
    qingyang = villages[villages["streetCode"] == "350582001"]
    assert len(qingyang) == 14
    assert qingyang["code"].tolist() == [f"3505820010{i:02d}" for i in range(4, 18)]
    names = set(qingyang["name"])
    assert {"青新社区居委会", "锦青社区居委会", "洪宅垵社区居委会", "永福里社区居委会"} <= names
    streets = read_table(shared_data / "qingyang/jinjiang_streets_2023.csv")
    assert streets.set_index("code").loc["350582001", "name"] == "青阳街道"
    with pytest.raises(InputError, match="no coordinates"):
        read_layer_file(shared_data / "qingyang/jinjiang_villages_2023.csv", "compounds")


# --- CSV ----------------------------------------------------------------------------------


def test_csv_lon_lat_with_bom_and_chinese_names(tmp_path: Path) -> None:
    path = tmp_path / "compounds.csv"
    path.write_text(
        "编号,小区名称,户数,经度,纬度\nC1,新世纪豪园,320,118.580,24.802\nC2,银星花园,150,118.582,24.802\n",
        encoding="utf-8-sig",
    )
    gdf = read_layer_file(path, "compounds", id_field="编号")
    assert gdf["compound_id"].tolist() == ["C1", "C2"]
    assert gdf["name"].tolist() == ["新世纪豪园", "银星花园"]
    assert gdf["households"].tolist() == [320.0, 150.0]
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].equals(Point(118.58, 24.802))
    assert "经度" not in gdf.columns


def test_csv_wkt_and_crs(tmp_path: Path) -> None:
    path = tmp_path / "roads.csv"
    line = LineString([(0, 0), (100, 0)])
    pd.DataFrame({"id": ["r1"], "highway": ["primary"], "WKT": [line.wkt]}).to_csv(
        path, index=False
    )
    gdf = read_layer_file(path, "roads", crs="EPSG:32650")
    assert gdf.crs.to_epsg() == 32650
    assert gdf["road_class"].tolist() == ["primary"]
    assert gdf.geometry.iloc[0].equals(line)


def test_csv_projected_coordinates_need_crs(tmp_path: Path) -> None:
    path = tmp_path / "projected.csv"
    path.write_text("name,x,y\na,660000,2743000\n", encoding="utf-8")
    with pytest.raises(CRSError, match="not longitude/latitude"):
        read_layer_file(path, "compounds")
    gdf = read_layer_file(path, "compounds", crs="EPSG:32650")
    assert gdf.to_crs(4326).geometry.iloc[0].x == pytest.approx(118.6, abs=0.1)


def test_csv_bad_rows_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,lon,lat\na,118.58,24.80\nb,east,24.80\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"lon is not a number in row 2 \('east'\)"):
        read_layer_file(path, "compounds")
    wkt = tmp_path / "badwkt.csv"
    wkt.write_text('name,wkt\na,"POINT (1 2)"\nb,"POINT (1"\n', encoding="utf-8")
    with pytest.raises(InputError, match="unreadable WKT geometry in row 2"):
        read_layer_file(wkt, "compounds")
    latin = tmp_path / "gbk.csv"
    latin.write_bytes("name,lon,lat\n银星花园,118.58,24.80\n".encode("gb18030"))
    with pytest.raises(InputError, match="not utf-8"):
        read_layer_file(latin, "compounds")
    assert read_layer_file(latin, "compounds", encoding="gb18030")["name"].tolist() == ["银星花园"]
    assert read_table(latin, encoding="gb18030").loc[0, "name"] == "银星花园"


# --- CRS handling -------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "noprj.shp"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(CRSError, match=r"noprj\.shp: the file has no CRS"):
        read_layer_file(path, "outline")
    gdf = read_layer_file(path, "outline", crs="EPSG:4490")
    assert gdf.crs.to_epsg() == 4490
    labelled = tmp_path / "labelled.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(labelled)
    with pytest.raises(CRSError, match="--crs says"):
        read_layer_file(labelled, "outline", crs=3857)


def test_gcj02_round_trip(tmp_path: Path) -> None:
    wgs = np.array([[118.580, 24.802], [118.582, 24.802], [118.582, 24.800]])
    gx, gy = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    path = tmp_path / "gaode.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "lng": gx, "lat": gy}).to_csv(path, index=False)
    plain = read_layer_file(path, "compounds")
    back = read_layer_file(path, "compounds", gcj02=True)
    assert back.crs.to_epsg() == 4326
    truth = gpd.GeoSeries(gpd.points_from_xy(wgs[:, 0], wgs[:, 1]), crs=4326)
    utm = metric_crs(back)
    error = back.geometry.to_crs(utm).distance(truth.to_crs(utm))
    assert error.max() < GCJ02_ROUNDTRIP_TOLERANCE_M
    offset = plain.geometry.to_crs(utm).distance(truth.to_crs(utm))
    assert offset.min() > 100  # the GCJ-02 offset itself is hundreds of metres
    road = tmp_path / "gaode.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[LineString(np.column_stack([gx, gy]))]).set_crs(
        4326
    ).to_file(road)
    line = read_layer_file(road, "roads", gcj02=True).to_crs(utm).geometry.iloc[0]
    expected = LineString(truth.to_crs(utm).get_coordinates().to_numpy())
    assert line.hausdorff_distance(expected) < GCJ02_ROUNDTRIP_TOLERANCE_M
    projected = tmp_path / "projected.gpkg"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)], crs=32650).to_file(projected)
    with pytest.raises(CRSError, match="GCJ-02"):
        read_layer_file(projected, "compounds", gcj02=True)


# --- formats and field mapping --------------------------------------------------------------


def test_shapefile_geoparquet_and_geojson(shared_data: Path, tmp_path: Path) -> None:
    src = read_layer_file(shared_data / "tallahassee/tallahassee.gpkg", "roads").head(20)
    raw = gpd.read_file(shared_data / "tallahassee/tallahassee.gpkg", layer="roads").head(20)
    raw.to_file(tmp_path / "roads.shp")
    raw.to_parquet(tmp_path / "roads.parquet")
    raw.to_crs(4326).to_file(tmp_path / "roads.geojson")
    for name in ("roads.shp", "roads.parquet", "roads.geojson"):
        gdf = read_layer_file(tmp_path / name, "roads")
        assert len(gdf) == 20, name
        assert gdf["road_class"].tolist() == src["road_class"].tolist(), name
        assert gdf["name"].tolist() == src["name"].tolist(), name
    assert read_layer_file(tmp_path / "roads.parquet", "roads").crs.to_epsg() == 2779


def test_field_mapping_errors_and_overrides(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "tallahassee/tallahassee.gpkg"
    swapped = read_layer_file(
        path, "compounds", layer="block_points", fields={"households": "POP100"}
    )
    assert swapped["households"].sum() == 13878
    with pytest.raises(InputError, match="HU_2010 not found"):
        read_layer_file(path, "compounds", layer="block_points", fields={"households": "HU_2010"})
    with pytest.raises(InputError, match="population is not a compounds column"):
        read_layer_file(path, "compounds", layer="block_points", fields={"population": "POP100"})
    dup = tmp_path / "dup.geojson"
    gpd.GeoDataFrame(
        {"id": ["a", "a"], "households": [1, 2]},
        geometry=[Point(118.58, 24.8), Point(118.581, 24.8)],
        crs=4326,
    ).to_file(dup)
    assert read_layer_file(dup, "compounds")["compound_id"].tolist() == ["1", "2"]
    ids = read_layer_file(dup, "compounds", id_field="id")["compound_id"]
    assert ids.tolist() == ["a", "a"]  # the user's ids: validation reports the duplicate


def test_three_d_geometry_is_flattened(tmp_path: Path) -> None:
    path = tmp_path / "z.gpkg"
    gpd.GeoDataFrame(
        {"name": ["z"]}, geometry=[LineString([(0, 0, 5), (10, 0, 6)])], crs=32650
    ).to_file(path)
    gdf = read_layer_file(path, "roads")
    assert not gdf.has_z.any()
    assert gdf["road_class"].tolist() == ["other"]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_layer_file(tmp_path / "nope.gpkg", "roads")
    empty = tmp_path / "empty.csv"
    empty.write_text("name,lon,lat\n", encoding="utf-8")
    with pytest.raises(InputError, match="no features"):
        read_layer_file(empty, "compounds")
    garbage = tmp_path / "garbage.gpkg"
    garbage.write_bytes(b"not a geopackage")
    with pytest.raises(InputError, match=r"garbage\.gpkg"):
        read_layer_file(garbage, "roads")
    with pytest.raises(InputError, match="unknown layer kind"):
        read_layer_file(empty, "parks")


def test_validate_an_empty_layer() -> None:
    """An empty layer validates to nothing (it used to crash with a numpy TypeError)."""
    from gridplan.data.layers import empty_layer

    for kind in LayerKind:
        ok, problems = validate(kind, empty_layer(kind, crs=3857))
        assert len(ok) == 0
        assert problems == []


def test_csv_counts_that_are_not_numbers_are_named(tmp_path: Path) -> None:
    """户数 "约300" used to become a missing count silently; blanks stay missing."""
    path = tmp_path / "compounds.csv"
    path.write_text(
        "id,name,lon,lat,户数\nc1,银星花园,118.58,24.80,约300\nc2,福隆广场,118.59,24.81,\n"
        "c3,镇长楼,118.60,24.82, 40 \n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputError,
        match=r"households is not a number in compounds\.csv for feature\(s\) c1 \('约300'\)",
    ):
        read_layer_file(path, "compounds")
    path.write_text(
        "id,name,lon,lat,户数\nc2,福隆广场,118.59,24.81,\nc3,镇长楼,118.60,24.82, 40 \n",
        encoding="utf-8",
    )
    counts = read_layer_file(path, "compounds")["households"].tolist()
    assert np.isnan(counts[0]) and counts[1] == 40.0


def test_validate_rejects_infinite_counts() -> None:
    """An infinite household count is listed, not loaded (it would swamp every total)."""
    units = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"], "households": [float("inf"), 3.0], "residents": [1.0, 2.0]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=3857,
    )
    ok, problems = validate(LayerKind.UNITS, units)
    assert ok["unit_id"].tolist() == ["b"]
    assert [(p.feature, p.reason) for p in problems] == [("a", "infinite households")]
