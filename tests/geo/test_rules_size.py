"""size.under / size.over against configurable bands, and the report's JSON contract."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from gridplan.errors import CRSError, InputError, InvalidFeaturesError
from gridplan.geo.rules import CheckConfig, check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650


def _row(households: list[float], residents: list[float] | None = None) -> gpd.GeoDataFrame:
    """Squares side by side: ``a0``, ``a1``, ... with the given counts."""
    n = len(households)
    data: dict[str, list[object]] = {
        "area_id": [f"a{i}" for i in range(n)],
        "name": [f"社区{i}" for i in range(n)],
        "households": list(households),
    }
    if residents is not None:
        data["residents"] = list(residents)
    geoms = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * (i + 1), Y0 + 100) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)


def test_community_band_defaults_to_1000_3000_households() -> None:
    report = check_areas(_row([999.0, 1000.0, 3000.0, 3001.0]))
    f = report.findings
    assert list(f.loc[f["rule"] == "size.under", "area_id"]) == ["a0"]
    assert list(f.loc[f["rule"] == "size.over", "area_id"]) == ["a3"]
    assert report.band == (1000.0, 3000.0)
    assert f.loc[f["rule"] == "size.over", "value"].iloc[0] == 3001


def test_grid_band_and_custom_band() -> None:
    report = check_areas(_row([299.0, 400.0, 501.0]), level="grid")
    assert report.by_rule() == {"size.under": 1, "size.over": 1}
    custom = check_areas(
        _row([299.0, 400.0, 501.0]),
        level="grid",
        config=CheckConfig().with_band("grid", 250, 450),
    )
    assert list(custom.findings["area_id"]) == ["a2"]


def test_residents_measure_uses_the_3000_5000_band() -> None:
    report = check_areas(
        _row([1.0, 1.0], residents=[2999.0, 4000.0]), config=CheckConfig(measure="residents")
    )
    assert report.measure == "residents" and report.band == (3000.0, 5000.0)
    assert list(report.findings["area_id"]) == ["a0"]
    assert "2,999 residents" in report.findings["message"].iloc[0]


def test_unknown_households_are_not_judged_but_noted() -> None:
    areas = _row([1.0, 1.0]).drop(columns=["households"])
    report = check_areas(areas)
    assert len(report.findings) == 0
    assert report.band is None
    assert any("size not checked" in n for n in report.notes)


def test_no_residents_band_for_grids_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no residents band"):
        check_areas(
            _row([1.0], residents=[900.0]), level="grid", config=CheckConfig(measure="residents")
        )


def test_json_contract() -> None:
    areas = _row([999.0, 2000.0]).to_crs(4490)  # CGCS2000 input, any CRS works
    report = check_areas(areas)
    doc = json.loads(json.dumps(report.to_json()))
    assert set(doc) == {"level", "summary", "areas", "findings"}
    assert doc["level"] == "community"
    assert doc["summary"]["areas"] == 2 and doc["summary"]["findings"] == 1
    assert doc["summary"]["by_rule"] == {"size.under": 1}
    assert doc["summary"]["ignored_slivers"]["coverage.gap"] == 0
    assert set(doc["areas"][0]) == {
        "id", "name", "households", "residents", "road_boundary_share", "parts",
        "polsby_popper",
    }  # fmt: skip
    assert doc["areas"][0]["residents"] is None
    assert doc["areas"][0]["polsby_popper"] == pytest.approx(0.785398, abs=1e-4)
    finding = doc["findings"][0]
    assert set(finding) == {"rule", "area", "severity", "value", "message", "geometry"}
    assert finding["area"] == "a0" and finding["rule"] == "size.under"
    assert finding["geometry"]["type"] == "Polygon"
    lon, lat = finding["geometry"]["coordinates"][0][0]
    assert 118 < lon < 120 and 24 < lat < 26  # WGS84 near Jinjiang
    assert report.findings.crs.to_epsg() == 4490  # findings come back in the input CRS


def test_bad_input_is_named() -> None:
    bow = shapely.Polygon([(X0, Y0), (X0 + 1, Y0 + 1), (X0 + 1, Y0), (X0, Y0 + 1)])
    bad = gpd.GeoDataFrame({"area_id": ["x"]}, geometry=[bow], crs=CRS)
    with pytest.raises(InvalidFeaturesError, match="areas feature x: invalid geometry"):
        check_areas(bad)
    lines = gpd.GeoDataFrame(
        {"area_id": ["l"]}, geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=CRS
    )
    with pytest.raises(InvalidFeaturesError, match="wrong geometry type"):
        check_areas(lines)
    with pytest.raises(CRSError):
        check_areas(gpd.GeoDataFrame({"area_id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)]))
    with pytest.raises(InputError, match="no features"):
        check_areas(_row([1.0]).iloc[0:0])
    with pytest.raises(InputError, match="level"):
        check_areas(_row([1.0]), level="district")


def test_config_from_plan_targets_per_level() -> None:
    targets = {"community": {"residents": [3000, 5000]}, "grid": {"households": [200, 400]}}
    community = CheckConfig.from_targets(targets, "community")
    grid = CheckConfig.from_targets(targets, "grid")
    assert community.measure == "residents"
    assert community.bands[("community", "residents")] == (3000.0, 5000.0)
    assert grid.measure == "households"
    assert grid.bands[("grid", "households")] == (200.0, 400.0)
    assert CheckConfig.from_targets({}, "grid") == CheckConfig()
    # plans stored before residents-only scenario bands were fixed hold a null households band
    legacy = {"community": {"households": None, "residents": [3000, 5000]}}
    assert CheckConfig.from_targets(legacy, "community") == community
    assert CheckConfig.from_targets({"grid": {"households": None}}, "grid") == CheckConfig()
    with pytest.raises(InputError, match=r"plan target grid.households must be \[lo, hi\]"):
        CheckConfig.from_targets({"grid": {"households": [300]}}, "grid")
    with pytest.raises(InputError, match="must be numbers"):
        CheckConfig.from_targets({"grid": {"households": ["a", "b"]}}, "grid")
