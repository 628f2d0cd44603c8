"""compound.override_violated: named assignments (compound → community) that are not honoured.

The fixture, in metres (EPSG:32650, offset by ``X0, Y0``)::

    400 +--------------+--------------+--------------+
        | Y 阳光社区    | J 锦青社区    | H 洪宅垵社区   |
    350 |       +------|----+         |              |
        |       | F 福隆广场 |         |              |   F: x 280..480 -> 60 % Y, 40 % J
    250 |       +------|----+         |              |      (named: 锦青社区) VIOLATED
    200 |     +--------|-+     * p1   |      * p2    |   p1 豪富花园 (named: 洪宅垵社区)
        |     | S 阳光时代　广场 |     |              |      a point in J       VIOLATED
    100 |     +--------|-+            |              |   p2 世纪公园 (named: 洪宅垵社区)
        |  * g         |              |              |      a point in H       honoured
      0 +--------------+--------------+--------------+   S: x 260..460 -> 70 % Y, 30 % J
        0             400            800           1200     (named: 阳光社区)   honoured,
                                                             written with a full-width space
    g 市公安局宿舍 (named: 普照社区, no such community here) -> a note, not a finding.
    The shipped overrides also name 新世纪豪园, 市直机关宿舍楼, 镇长楼, 银星花园 and 机场生活区,
    which are not in the data -> one note each.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridplan.data.reference import load_overrides
from gridplan.errors import InputError
from gridplan.geo.rules import check_areas

X0, Y0 = 660_000.0, 2_744_000.0
CRS = 32650
RULE = "compound.override_violated"


def _box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _pt(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["Y", "J", "H"], "name": ["阳光社区", "锦青社区", "洪宅垵社区"]},
        geometry=[_box(0, 0, 400, 400), _box(400, 0, 800, 400), _box(800, 0, 1200, 400)],
        crs=CRS,
    )


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["S", "F", "p1", "p2", "g"],
            "name": ["阳光时代\u3000广场", "福隆广场", "豪富花园", "世纪公园", "市公安局宿舍"],
            "households": [600.0, 420.0, 180.0, 90.0, 50.0],
        },
        geometry=[
            _box(260, 100, 460, 200),
            _box(280, 250, 480, 350),
            _pt(600, 200),
            _pt(1000, 200),
            _pt(100, 50),
        ],
        crs=CRS,
    )


def _violations(report_findings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return report_findings[report_findings["rule"] == RULE].reset_index(drop=True)


def test_policy_overrides_one_honoured_one_not() -> None:
    report = check_areas(_areas(), compounds=_compounds(), overrides=load_overrides())
    found = _violations(report.findings)
    # F lies mostly (60 %) in Y but is named for J; p1 is a point in J named for H.
    assert sorted(found["area_id"]) == ["J", "Y"]
    by_area = found.set_index("area_id")
    assert by_area.loc["Y", "value"] == 420.0
    assert by_area.loc["J", "value"] == 180.0
    assert set(found["severity"]) == {"error"}
    assert set(found["level"]) == {"community"}
    f_msg = by_area.loc["Y", "message"]
    assert "福隆广场" in f_msg
    assert "lies in Y (阳光社区), not in J (锦青社区)" in f_msg
    assert "(line 7)" in f_msg
    p1_msg = by_area.loc["J", "message"]
    assert "豪富花园" in p1_msg and "not in H (洪宅垵社区)" in p1_msg
    # S (70 % in Y, named for 阳光社区 with a full-width space in the data) and p2 are honoured.
    assert not found["message"].str.contains("阳光时代|世纪公园").any()
    assert report.by_rule()[RULE] == 2


def test_finding_geometry_shows_compound_current_and_named_community() -> None:
    report = check_areas(_areas(), compounds=_compounds(), overrides=load_overrides())
    found = _violations(report.findings).set_index("area_id")
    geom = found.loc["Y", "geometry"]
    assert geom.geom_type == "GeometryCollection"
    parts = list(geom.geoms)
    assert len(parts) == 3
    assert parts[0].equals(_box(280, 250, 480, 350))  # the compound
    assert parts[1].equals(_box(0, 0, 400, 400))  # where it lies: 阳光社区
    assert parts[2].equals(_box(400, 0, 800, 400))  # where it should be: 锦青社区
    point = list(found.loc["J", "geometry"].geoms)
    assert point[0].equals(_pt(600, 200)) and point[2].equals(_box(800, 0, 1200, 400))


def test_unmatched_overrides_become_notes() -> None:
    report = check_areas(_areas(), compounds=_compounds(), overrides=load_overrides())
    notes = [n for n in report.notes if n.startswith("override ")]
    no_compound = [n for n in notes if "no compound named" in n]
    assert sorted(n.split()[1] for n in no_compound) == sorted(
        ["新世纪豪园", "市直机关宿舍楼", "镇长楼", "银星花园", "机场生活区"]
    )
    no_community = [n for n in notes if "no community named" in n]
    assert no_community == [
        "override 市公安局宿舍 → 普照社区 (line 11) not checked: "
        "no community named 普照社区 in the data"
    ]
    assert len(notes) == 6


def test_full_width_variants_match() -> None:
    """Full-width brackets and spaces in either table match their half-width forms."""
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["a", "b"],
            "name": ["阳光时代广场（二期）", "ＦＬ福隆广场"],
            "households": [300.0, 120.0],
        },
        geometry=[_box(500, 50, 700, 150), _box(100, 300, 200, 380)],
        crs=CRS,
    )
    overrides = pd.DataFrame(
        {
            "compound": ["阳光时代广场(二期)", "FL 福隆广场"],
            "community": ["阳光　社区", "锦青社区"],
        }
    )
    report = check_areas(_areas(), compounds=compounds, overrides=overrides)
    found = _violations(report.findings)
    assert sorted(found["value"]) == [120.0, 300.0]
    assert not [n for n in report.notes if n.startswith("override ")]


def test_community_named_by_id_and_repeated_compound_names() -> None:
    """An override may name the area id; every compound with the name is checked."""
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["f1", "f2"],
            "name": ["福隆广场", "福隆广场"],
            "households": [100.0, 200.0],
        },
        geometry=[_pt(500, 100), _pt(100, 100)],  # one in J, one in Y
        crs=CRS,
    )
    overrides = pd.DataFrame({"compound": ["福隆广场"], "community": ["J"]})
    report = check_areas(_areas(), compounds=compounds, overrides=overrides)
    found = _violations(report.findings)
    assert list(found["area_id"]) == ["Y"]
    assert list(found["value"]) == [200.0]


def test_compound_in_no_community_is_not_honoured() -> None:
    compounds = gpd.GeoDataFrame(
        {"name": ["机场生活区"], "households": [80.0]},
        geometry=[_box(1300, 0, 1350, 50)],
        crs=CRS,
    )
    overrides = pd.DataFrame({"compound": ["机场生活区"], "community": ["洪宅垵社区"]})
    report = check_areas(_areas(), compounds=compounds, overrides=overrides)
    found = _violations(report.findings)
    assert len(found) == 1
    assert found["area_id"].iloc[0] is None
    assert "lies in no community, not in H (洪宅垵社区)" in found["message"].iloc[0]
    assert len(found.geometry.iloc[0].geoms) == 2  # the compound and the named community
    assert report.by_rule()["compound.unassigned"] == 1


def test_findings_come_back_in_the_areas_crs() -> None:
    report = check_areas(
        _areas().to_crs(4326),
        compounds=_compounds().to_crs(4326),
        overrides=load_overrides(),
    )
    found = _violations(report.findings)
    assert report.findings.crs.to_epsg() == 4326
    assert sorted(found["area_id"]) == ["J", "Y"]
    lon, lat = found.geometry.iloc[0].geoms[0].centroid.coords[0]
    assert 118 < lon < 120 and 24 < lat < 26


def test_without_overrides_nothing_changes() -> None:
    plain = check_areas(_areas(), compounds=_compounds())
    empty = check_areas(
        _areas(), compounds=_compounds(), overrides=pd.DataFrame(columns=["compound", "community"])
    )
    assert RULE not in plain.by_rule()
    assert plain.by_rule() == empty.by_rule()
    assert plain.notes == empty.notes == ("roads not checked: no roads given",)


def test_overrides_without_compounds_are_noted() -> None:
    report = check_areas(_areas(), overrides=load_overrides())
    assert RULE not in report.by_rule()
    assert "overrides not checked: no compounds given (10)" in report.notes


def test_overrides_without_name_columns_are_bad_input() -> None:
    with pytest.raises(InputError, match="missing column"):
        check_areas(
            _areas(),
            compounds=_compounds(),
            overrides=pd.DataFrame({"compound": ["福隆广场"], "area": ["J"]}),
        )
