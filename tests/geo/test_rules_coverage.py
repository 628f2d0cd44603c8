"""coverage.gap and coverage.overlap, with slivers under the width tolerance ignored."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from gridplan.geo.rules import CheckConfig, check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _areas(geoms: dict[str, shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": list(geoms), "households": [2000.0] * len(geoms)},
        geometry=list(geoms.values()),
        crs=CRS,
    )


def _outline(x1: float, y1: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["青阳街道"]}, geometry=[_box(0, 0, x1, y1)], crs=CRS)


def test_gap_inside_the_outline_is_reported_with_its_area() -> None:
    """Two squares leave a 20 m strip of the outline uncovered.

    ::

        +------+ +------+
        |  a   |g|  b   |    g: 20 x 100 m = 2000 m² covered by no community
        +------+ +------+
        0    100 120   220
    """
    areas = _areas({"a": _box(0, 0, 100, 100), "b": _box(120, 0, 220, 100)})
    report = check_areas(areas, outline=_outline(220, 100))
    gaps = report.findings[report.findings["rule"] == "coverage.gap"]
    assert len(gaps) == 1
    assert gaps["value"].iloc[0] == pytest.approx(2000.0)
    assert gaps.geometry.iloc[0].equals(_box(100, 0, 120, 100))
    assert gaps["area_id"].iloc[0] in {"a", "b"}
    assert "between a" in gaps["message"].iloc[0] or "between b" in gaps["message"].iloc[0]
    assert report.ignored_slivers["coverage.gap"] == 0


def test_hole_in_the_coverage_is_a_gap_without_an_outline() -> None:
    """Four squares around a 50 m hole: the hole is a gap even with no outline given."""
    ring = _box(0, 0, 300, 300).difference(_box(100, 100, 200, 200))
    hole = _box(125, 125, 175, 175)
    areas = _areas({"r": ring, "c": _box(100, 100, 200, 200).difference(hole)})
    report = check_areas(areas)
    gaps = report.findings[report.findings["rule"] == "coverage.gap"]
    assert gaps["value"].to_numpy() == pytest.approx([2500.0])
    assert gaps["area_id"].iloc[0] == "c"


def test_overlap_is_reported_once_per_pair() -> None:
    """``a`` and ``b`` overlap by a 10 x 100 m strip.

    ::

        +-------+--+------+
        |  a    |ab|   b  |   ab: x 100..110, 1000 m²
        +-------+--+------+
    """
    areas = _areas({"a": _box(0, 0, 110, 100), "b": _box(100, 0, 200, 100)})
    report = check_areas(areas)
    ov = report.findings[report.findings["rule"] == "coverage.overlap"]
    assert len(ov) == 1
    assert ov["value"].iloc[0] == pytest.approx(1000.0)
    assert ov["area_id"].iloc[0] == "a"
    assert ov.geometry.iloc[0].equals(_box(100, 0, 110, 100))
    assert "a and b overlap by 1,000 m²" in ov["message"].iloc[0]
    assert ov["severity"].iloc[0] == "error"


def test_slivers_under_the_width_tolerance_are_ignored_and_counted() -> None:
    """A 0.4 m gap between a and b and a 0.3 m overlap between b and c are slivers.

    ::

        +------+ +------+-+------+
        |  a   | |  b   |X|  c   |    gap 0.4 m wide, overlap 0.3 m wide: ignored
        +------+ +------+-+------+
    """
    areas = _areas(
        {
            "a": _box(0, 0, 100, 100),
            "b": _box(100.4, 0, 200, 100),
            "c": _box(199.7, 0, 300, 100),
        }
    )
    report = check_areas(areas, outline=_outline(300, 100))
    rules = set(report.findings["rule"])
    assert "coverage.gap" not in rules and "coverage.overlap" not in rules
    assert report.ignored_slivers["coverage.gap"] == 1
    assert report.ignored_slivers["coverage.overlap"] == 1
    # The boundaries across the slivers are still shared: a and b are neighbours.
    wider = check_areas(areas, outline=_outline(300, 100), config=CheckConfig(sliver_width=0.2))
    assert set(wider.findings["rule"]) == {"coverage.gap", "coverage.overlap"}
    assert wider.ignored_slivers == {"coverage.gap": 0, "coverage.overlap": 0, "enclave.exclave": 0}


def test_exact_coverage_has_no_coverage_findings() -> None:
    areas = _areas({"a": _box(0, 0, 100, 100), "b": _box(100, 0, 200, 100)})
    report = check_areas(areas, outline=_outline(200, 100))
    assert not report.findings["rule"].str.startswith("coverage").any()
