"""Plan comparison and the diff map, on a hand-drawn before/after pair.

Metres in UTM 50N (offset X0, Y0)::

    before                                   after
    y=2000 +-------------------+------+      +-------------------+------+
           | D (1,500)         | E    |      | D (1,500)         | F    |
    y=1000 +---------+---------+ (500)|      +----+--------------+ (new)|
           | A 2,000 | B 2,000 |      |      | A  | B 3,000      |      |
           |  k2  k1 |         |      |      |1000|  k1          |      |
    y=0    +---------+---------+------+      +----+--------------+------+
          x=0      2000      4000   5000    x=0  1000           4000   5000

A's east half (x 1000..2000, with compound k1 of 300 households) moves to B; E is removed and
F (same ground) is new; D is unchanged. Units u1..u8 are 500 m wide strips along y 0..1000,
500 households each.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from mapkit import features_of, labels_of, layer_options, overlay_names, panel_rows
from shapely import box

from gridplan.geo.diff import PlanDiff
from gridplan.geo.diff import plan_diff as _plan_diff
from gridplan.maps.diff import render_diff_map
from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import map_html
from gridplan.plan import Plan

CRS = "EPSG:32650"
X0, Y0 = 654_000.0, 2_745_000.0


def plan_diff(before: MapLayers | Plan, after: MapLayers | Plan, **kw: object) -> PlanDiff:
    """The one comparison (:func:`gridplan.geo.diff.plan_diff`) of two plans or map layers."""

    def side(x: MapLayers | Plan) -> object:
        return x.communities if isinstance(x, MapLayers) else x

    return _plan_diff(side(before), side(after), **kw)  # type: ignore[arg-type]


def _b(x0: float, y0: float, x1: float, y1: float) -> object:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _areas(
    rows: list[tuple[str, str, float, tuple[float, float, float, float]]],
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "level": "community",
            "area_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "code": None,
            "parent_id": None,
            "households": [r[2] for r in rows],
            "residents": None,
        },
        geometry=[_b(*r[3]) for r in rows],
        crs=CRS,
    )


BEFORE = [
    ("A", "青新社区", 2000.0, (0, 0, 2000, 1000)),
    ("B", "阳光社区", 2000.0, (2000, 0, 4000, 1000)),
    ("D", "锦青社区", 1500.0, (0, 1000, 4000, 2000)),
    ("E", "旧社区", 500.0, (4000, 0, 5000, 2000)),
]
AFTER = [
    ("A", "青新社区", 1000.0, (0, 0, 1000, 1000)),
    ("B", "阳光社区", 3000.0, (1000, 0, 4000, 1000)),
    ("D", "锦青社区", 1500.0, (0, 1000, 4000, 2000)),
    ("F", "湖光西路社区", 500.0, (4000, 0, 5000, 2000)),
]


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["k1", "k2", "k3"],
            "name": ["银星花园", "镇长楼", "世纪公园"],
            "households": [300.0, 80.0, 120.0],
        },
        geometry=[_b(1400, 400, 1600, 600), _b(400, 400, 600, 600), _b(2900, 1400, 3100, 1600)],
        crs=CRS,
    )


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"unit_id": [f"u{i + 1}" for i in range(8)], "households": [500.0] * 8},
        geometry=[_b(500 * i, 0, 500 * (i + 1), 1000) for i in range(8)],
        crs=CRS,
    )


def _plan(rows: list[tuple[str, str, float, tuple[float, float, float, float]]], cut: int) -> Plan:
    assignments = pd.DataFrame(
        {
            "unit_id": [f"u{i + 1}" for i in range(8)],
            "community_id": ["A" if i < cut else "B" for i in range(8)],
            "grid_id": None,
        }
    )
    return Plan(name=f"cut {cut}", assignments=assignments, areas=_areas(rows))


@pytest.fixture(scope="module")
def before() -> MapLayers:
    return MapLayers(_areas(BEFORE), title="before")


@pytest.fixture(scope="module")
def after() -> MapLayers:
    return MapLayers(_areas(AFTER), title="after")


def test_area_changes(before: MapLayers, after: MapLayers) -> None:
    diff = plan_diff(before, after, compounds=_compounds())
    table = diff.areas.set_index("area_id")
    assert table["change"].to_dict() == {
        "A": "changed",
        "B": "changed",
        "D": "unchanged",
        "E": "removed",
        "F": "new",
    }
    assert table.loc["B", ["households_before", "households_after", "delta"]].tolist() == [
        2000.0,
        3000.0,
        1000.0,
    ]
    assert table.loc["E", "delta"] == -500.0
    assert table.loc["A", "area_changed_m2"] == pytest.approx(1_000_000, rel=1e-6)


def test_territory_and_compounds_moved(before: MapLayers, after: MapLayers) -> None:
    diff = plan_diff(before, after, compounds=_compounds())
    moved = diff.moved.sort_values("from_id")
    assert moved[["from_id", "to_id"]].values.tolist() == [["A", "B"], ["E", "F"]]
    assert moved["area_m2"].round().tolist() == [1_000_000, 2_000_000]
    assert moved.crs.to_epsg() == 4326
    assert diff.compounds[["compound_id", "from_id", "to_id"]].values.tolist() == [["k1", "A", "B"]]
    assert diff.households_moved == 300.0  # no unit counts: the moved compounds' households


def test_unit_level_moves_count_households() -> None:
    before, after = _plan(BEFORE, cut=4), _plan(AFTER, cut=2)
    diff = plan_diff(before, after, units=_units())
    assert diff.moved[["from_id", "to_id", "households"]].values.tolist() == [["A", "B", 1000.0]]
    assert diff.moved["area_m2"].iloc[0] == pytest.approx(1_000_000, rel=1e-3)
    assert diff.households_moved == 1000.0


def test_identical_plans_have_no_changes(before: MapLayers) -> None:
    diff = plan_diff(before, before, compounds=_compounds())
    assert set(diff.areas["change"]) == {"unchanged"}
    assert diff.moved.empty and diff.compounds.empty


def test_diff_map_layers_and_popups(before: MapLayers, after: MapLayers) -> None:
    page = map_html(render_diff_map(before, after, compounds=_compounds()))
    names = list(overlay_names(page))
    assert names == [
        "Communities after (by change)",
        "Boundaries before (4)",
        "Communities removed (1)",
        "Territory moved (2)",
        "Compounds moved (1)",
    ]
    after_props = {
        f["properties"]["area_id"]: f["properties"] for f in features_of(page, "Communities after")
    }
    assert after_props["B"]["before"] == "2,000"
    assert after_props["B"]["after"] == "3,000"
    assert after_props["B"]["delta"] == "+1,000"
    assert after_props["F"]["change"] == "new" and after_props["F"]["before"] == "–"
    assert after_props["D"]["_s"].split("|")[0] == "unchanged"
    # each community after its own colour, neighbours different
    fills = {k: p["_s"].split("|")[1] for k, p in after_props.items()}
    assert len({fills["A"], fills["B"], fills["D"]}) == 3 and fills["B"] != fills["F"]
    removed = features_of(page, "Communities removed")[0]["properties"]
    assert removed["name"] == "旧社区" and removed["delta"] == "-500"
    moved = {
        (p["from"], p["to"])
        for p in (f["properties"] for f in features_of(page, "Territory moved"))
    }
    assert moved == {("青新社区", "阳光社区"), ("旧社区", "湖光西路社区")}
    compound = features_of(page, "Compounds moved")[0]
    comp = compound["properties"]
    assert (comp["name"], comp["from"], comp["to"], comp["households"]) == (
        "银星花园",
        "青新社区",
        "阳光社区",
        "300",
    )
    assert compound["geometry"]["type"] == "Point"  # a marker, not a polygon over the map
    assert "households moved: 300" in page
    assert '<div id="gridplan-title">before → after</div>' in page


def test_diff_map_names_before_and_after(before: MapLayers, after: MapLayers) -> None:
    page = map_html(render_diff_map(before, after, compounds=_compounds()))
    # communities after: name and households before → after
    after_labels = {i[2].split("<br>")[0]: i[2] for i in labels_of(page, "gp-community-label")}
    assert set(after_labels) == {
        "<b>青新社区</b>",
        "<b>阳光社区</b>",
        "<b>锦青社区</b>",
        "<b>湖光西路社区</b>",
    }
    assert "2,000 → 3,000户" in after_labels["<b>阳光社区</b>"]
    assert "– → 500户" in after_labels["<b>湖光西路社区</b>"]
    # removed communities are drawn on top, labelled
    removed = [i[2] for i in labels_of(page, "gp-removed-label")]
    assert removed == ["✕ <b>旧社区</b> (removed)"]
    options = layer_options(page)
    assert options[overlay_names(page)["Communities removed (1)"]]["pane"] == "gp-bounds"
    # moved territory: from → to on the map
    moves = sorted(i[2] for i in labels_of(page, "gp-move-label"))
    assert moves == ["旧社区 → 湖光西路社区", "青新社区 → 阳光社区"]
    compounds = [i[2] for i in labels_of(page, "gp-compound-label")]
    assert compounds == ["银星花园: 青新社区 → 阳光社区"]
    # the panel: every community before and after, every move from → to, the total
    rows = {r["area"]: r["cells"] for r in panel_rows(page)}
    assert rows == {
        "A": ["青新社区", "2,000", "1,000", "± changed"],
        "B": ["阳光社区", "2,000", "3,000", "± changed"],
        "D": ["锦青社区", "1,500", "1,500", "= unchanged"],
        "E": ["旧社区", "500", "–", "✕ removed"],
        "F": ["湖光西路社区", "–", "500", "+ new"],
    }
    moves_table = [r["cells"] for r in panel_rows(page, "gridplan-moves")]
    assert sorted(moves_table) == [
        ["旧社区 → 湖光西路社区", "–", "–", "0"],
        ["青新社区 → 阳光社区", "–", "–", "1"],
    ]
    assert "households moved in all: 300" in page
    # legend counts are what is drawn
    assert "✕ removed (1)" in page and "territory, labelled from → to: 2 piece(s)" in page
    assert "compounds: 1" in page


def test_diff_map_of_unit_plans_totals_households() -> None:
    before, after = _plan(BEFORE, cut=4), _plan(AFTER, cut=2)
    page = map_html(render_diff_map(before, after, units=_units()))
    moves_table = [r["cells"] for r in panel_rows(page, "gridplan-moves")]
    assert moves_table == [["青新社区 → 阳光社区", "2", "1,000", "0"]]
    assert "households moved in all: 1,000" in page
    assert [i[2] for i in labels_of(page, "gp-move-label")] == ["青新社区 → 阳光社区<br>1,000户"]


def test_households_that_stayed_under_a_new_code_are_labelled_by_code() -> None:
    """A merge gives the bigger part's code to the community that keeps its name: the
    households that stayed moved only in code, and the label says so (not "C002 → C002")."""
    import geopandas as gpd
    from shapely import box

    from gridplan.maps.diff import _Names, _pair, _recoded

    old = gpd.GeoDataFrame(
        {"area_id": ["1", "4"], "name": ["C001", "C002"], "code": ["001", "002"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=4326,
    )
    new = gpd.GeoDataFrame(
        {"area_id": ["4"], "name": ["C002"], "code": ["001"]}, geometry=[box(0, 0, 2, 1)], crs=4326
    )
    names = _Names({"1": "C001", "4": "C002"})
    names.recoded = _recoded(old, new)
    assert _pair("4", "4", names) == "C002: code 002 → 001"
    assert _pair("1", "4", names) == "C001 → C002"
