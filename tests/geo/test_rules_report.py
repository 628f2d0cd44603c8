"""The report's JSON: finding geometries as RFC 7946 GeoJSON (lon/lat, right-hand rings)."""

from __future__ import annotations

import json

import geopandas as gpd
import shapely

from gridplan.geo.rules import check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def _ring(
    x0: float, y0: float, x1: float, y1: float, *, clockwise: bool
) -> list[tuple[float, float]]:
    corners = [(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y0), (X0 + x1, Y0 + y1), (X0 + x0, Y0 + y1)]
    return corners[::-1] if clockwise else corners


def _donut_and_core() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A ring-shaped community ``a`` drawn the wrong way round, ``b`` inside its hole::

    +-------------------------+ 300   a: shell clockwise, hole (50..250)
    |  a (500 households)     |          counter-clockwise; too small
    |   +-----------------+   |     b: 100..200, 2,000 households
    |   |   gap  +---+    |   |     outline: 0..300, so the band between b and
    |   |        | b |    |   |          a's hole (a polygon with a hole) is a gap
    |   |        +---+    |   |
    |   +-----------------+   |
    +-------------------------+ 0
    0  50    100   200  250  300
    """
    a = shapely.Polygon(
        _ring(0, 0, 300, 300, clockwise=True), [_ring(50, 50, 250, 250, clockwise=False)]
    )
    b = shapely.Polygon(_ring(100, 100, 200, 200, clockwise=True))
    areas = gpd.GeoDataFrame(
        {"area_id": ["a", "b"], "name": ["青新社区", "锦青社区"], "households": [500.0, 2000.0]},
        geometry=[a, b],
        crs=CRS,
    )
    outline = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 300, Y0 + 300)], crs=CRS)
    return areas, outline


def test_finding_polygons_with_holes_follow_the_right_hand_rule() -> None:
    """The areas' own orientation (size.under carries area a as drawn) and GEOS's (the gap
    is an overlay result) both came out with clockwise shells and counter-clockwise holes."""
    areas, outline = _donut_and_core()
    report = check_areas(areas, outline=outline)
    assert report.by_rule() == {"size.under": 1, "coverage.gap": 1}
    doc = json.loads(json.dumps(report.to_json()))
    for finding in doc["findings"]:
        polygon = shapely.geometry.shape(finding["geometry"])
        assert polygon.geom_type == "Polygon", finding["rule"]
        assert len(polygon.interiors) == 1, finding["rule"]
        assert shapely.is_ccw(polygon.exterior), f"{finding['rule']}: exterior is clockwise"
        assert not shapely.is_ccw(polygon.interiors[0]), f"{finding['rule']}: hole is ccw"


def test_finding_geometries_are_lon_lat_in_wgs84() -> None:
    """The areas are in UTM 50N metres; the JSON has the same shapes in EPSG:4326 lon/lat."""
    areas, outline = _donut_and_core()
    doc = check_areas(areas, outline=outline).to_json()
    under = next(f for f in doc["findings"] if f["rule"] == "size.under")
    for lon, lat in under["geometry"]["coordinates"][0]:
        assert 118 < lon < 119 and 24 < lat < 25
    got = shapely.normalize(shapely.geometry.shape(under["geometry"]))
    expected = shapely.normalize(areas.to_crs(4326).geometry.iloc[0])
    assert shapely.equals_exact(got, expected, tolerance=1e-9)
