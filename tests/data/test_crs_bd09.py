"""BD-09 (Baidu) and the coordinate frames: the public formula, round trips, outside China."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely import LineString, Point, box

from gridplan.data.crs import (
    BD09_ROUNDTRIP_TOLERANCE_M,
    Coords,
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_coords,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    parse_coords,
    to_coords,
    to_wgs84_xy,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridplan.data.readers import read_layer_file
from gridplan.errors import CRSError, InputError

GEOD = Geod(ellps="WGS84")


def _metres(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(x1, y1, x2, y2)[2])


def _china_grid() -> tuple[np.ndarray, np.ndarray]:
    """Points across mainland China, Jinjiang to Harbin to Kashgar."""
    lon, lat = np.meshgrid(np.linspace(75.0, 134.0, 25), np.linspace(18.5, 53.0, 25))
    return lon.ravel(), lat.ravel()


def test_gcj02_to_bd09_is_the_public_formula() -> None:
    # the worked example published with the formula: GCJ-02 (116.404, 39.915) near Tiananmen
    x, y = gcj02_to_bd09(116.404, 39.915)
    assert float(x) == pytest.approx(116.41036949371029, abs=1e-9)
    assert float(y) == pytest.approx(39.92133699351021, abs=1e-9)
    # ... and the public one-step inverse, which gridplan refines, gives (116.39762729, 39.90865674)
    gx, gy = bd09_to_gcj02(116.404, 39.915)
    assert _metres(gx, gy, 116.39762729119315, 39.90865673957631) < 0.1


def test_bd09_shift_is_hundreds_of_metres() -> None:
    lon, lat = _china_grid()
    bx, by = gcj02_to_bd09(lon, lat)
    shift = _metres(lon, lat, bx, by)
    assert shift.min() > 500 and shift.max() < 1_000


def test_bd09_gcj02_round_trip_under_a_millimetre() -> None:
    lon, lat = _china_grid()
    gx, gy = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert _metres(lon, lat, gx, gy).max() < BD09_ROUNDTRIP_TOLERANCE_M
    # and the other way: a BD-09 point converted to GCJ-02 and forward again
    fx, fy = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert _metres(lon, lat, fx, fy).max() < BD09_ROUNDTRIP_TOLERANCE_M


def test_bd09_wgs84_round_trip_under_a_millimetre() -> None:
    lon, lat = _china_grid()
    wx, wy = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert _metres(lon, lat, wx, wy).max() < BD09_ROUNDTRIP_TOLERANCE_M
    # BD-09 is GCJ-02 shifted once more
    gx, gy = wgs84_to_gcj02(lon, lat)
    bx, by = wgs84_to_bd09(lon, lat)
    assert np.allclose(gcj02_to_bd09(gx, gy), (bx, by), atol=1e-12)


def test_outside_china_bd09_is_wgs84() -> None:
    # Providence, Helsinki, Sydney: nothing moves, as with GCJ-02
    lon = np.array([-71.41, 24.94, 151.21])
    lat = np.array([41.82, 60.17, -33.87])
    for fn in (wgs84_to_bd09, bd09_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        x, y = fn(lon, lat)
        assert np.array_equal(x, lon) and np.array_equal(y, lat)


def test_nan_coordinates_pass_through() -> None:
    x, y = bd09_to_wgs84(np.array([np.nan, 118.58]), np.array([24.8, np.nan]))
    assert np.isnan(x[0]) and np.isnan(y[1])


@pytest.mark.parametrize("frame", list(Coords))
def test_layer_round_trip_in_every_frame(frame: Coords) -> None:
    wgs = gpd.GeoDataFrame(
        {"compound_id": ["a", "b"]},
        geometry=[box(118.580, 24.800, 118.582, 24.802), Point(118.59, 24.81)],
        crs=4326,
    )
    there = to_coords(wgs, frame)
    back = from_coords(there, frame)
    assert back.crs.to_epsg() == 4326
    for a, b in zip(wgs.geometry, back.geometry, strict=True):
        assert a.equals_exact(b, tolerance=1e-8)
    if frame is not Coords.WGS84:
        assert there.geometry.iloc[1].distance(wgs.geometry.iloc[1]) > 0.002


def test_parse_coords() -> None:
    assert parse_coords("GCJ-02") is Coords.GCJ02
    assert parse_coords("BD09") is Coords.BD09
    assert parse_coords(Coords.WGS84) is Coords.WGS84
    with pytest.raises(CRSError, match="expected one of wgs84, gcj02, bd09"):
        parse_coords("mars")


def test_to_wgs84_xy_by_frame() -> None:
    x, y = wgs84_to_bd09(118.58, 24.80)
    assert np.allclose(to_wgs84_xy(x, y, "bd09"), (118.58, 24.80), atol=1e-9)
    gx, gy = wgs84_to_gcj02(118.58, 24.80)
    assert np.allclose(to_wgs84_xy(gx, gy, "gcj02"), gcj02_to_wgs84(gx, gy))
    assert np.allclose(to_wgs84_xy(118.58, 24.80, "wgs84"), (118.58, 24.80))


def test_read_bd09_file(tmp_path: Path) -> None:
    """A road drawn on Baidu Maps (BD-09, no CRS in the CSV) comes back where it is."""
    wgs = np.array([[118.580, 24.800], [118.590, 24.805]])
    bx, by = wgs84_to_bd09(wgs[:, 0], wgs[:, 1])
    path = tmp_path / "roads.csv"
    path.write_text(
        f'id,highway,wkt\nr1,residential,"{LineString(np.column_stack([bx, by])).wkt}"\n',
        encoding="utf-8",
    )
    line = read_layer_file(path, "roads", coords="bd09").geometry.iloc[0]
    assert np.allclose(np.asarray(line.coords), wgs, atol=1e-8)


def test_bd09_projected_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "utm.gpkg"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 10, 10)], crs=32650).to_file(path)
    with pytest.raises(CRSError, match=r"utm\.gpkg: BD-09 input must be longitude/latitude"):
        read_layer_file(path, "compounds", coords="bd09")


def test_gcj02_shorthand_and_bd09_contradict(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,lon,lat\na,118.58,24.80\n", encoding="utf-8")
    same = read_layer_file(path, "compounds", gcj02=True, coords="gcj02")
    assert same.geometry.iloc[0].equals_exact(
        read_layer_file(path, "compounds", gcj02=True).geometry.iloc[0], 0
    )
    with pytest.raises(InputError, match="contradict"):
        read_layer_file(path, "compounds", gcj02=True, coords="bd09")
