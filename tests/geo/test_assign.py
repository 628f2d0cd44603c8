"""Tests of compound assignment (gridplan.geo.assign)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, box

from gridplan.data.reference import load_overrides
from gridplan.errors import InputError
from gridplan.geo.assign import assign_compounds, assignment_summary

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact


def _areas() -> gpd.GeoDataFrame:
    """Two communities side by side::

    +----------+----------+ y=100
    |  青新社区 |  阳光社区 |        K: x 30..130 (70 m in A, 30 m in B)  -> A, 70/30
    | [K  K  K | K]  [P]  |        P: point compound at (150, 50)       -> B
    |          |          |  [L]   L: x 250..260, outside, closest to B -> B, flagged
    +----------+----------+ y=0    M: inside A but named 福隆广场 -> overridden to B
    0   A     100    B   200
    """
    return gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "name": ["青新社区", "锦青社区"], "code": ["001", "002"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=CRS,
    )


def _compounds() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "compound_id": ["K", "P", "L", "M"],
            "name": ["straddle", "point", "outside", "福隆广场"],
            "households": [100.0, 20.0, 5.0, 40.0],
        },
        geometry=[
            box(30, 40, 130, 60),
            Point(150, 50),
            box(250, 40, 260, 60),
            box(10, 70, 30, 90),
        ],
        crs=CRS,
    )


def test_overlap_contained_nearest() -> None:
    out = assign_compounds(_compounds(), _areas()).set_index("compound_id")
    assert out.loc["K", "area_id"] == "A"
    assert out.loc["K", "method"] == "overlap"
    assert out.loc["K", "overlap_share"] == pytest.approx(0.7)
    assert bool(out.loc["K", "flagged"])
    assert "70% in A" in out.loc["K", "note"]
    assert (out.loc["P", "area_id"], out.loc["P", "method"]) == ("B", "contained")
    assert not bool(out.loc["P", "flagged"])
    assert (out.loc["L", "area_id"], out.loc["L", "method"]) == ("B", "nearest")
    assert out.loc["L", "overlap_share"] == 0.0
    assert bool(out.loc["L", "flagged"])
    assert (out.loc["M", "area_id"], out.loc["M", "overlap_share"]) == ("A", 1.0)
    assert not bool(out.loc["M", "flagged"])


def test_override_wins_and_is_reported_with_full_width_name() -> None:
    """The override names 福隆广场 with full-width spaces and a full-width community name."""
    overrides = pd.DataFrame(
        {
            "compound": ["\u3000福隆\u3000广场 ", "不存在的小区", "point"],
            "community": ["锦青社区", "青新社区", "ＮＯ ＳＵＣＨ"],
        }
    )
    out = assign_compounds(_compounds(), _areas(), overrides=overrides)
    m = out.set_index("compound_id").loc["M"]
    assert (m["area_id"], m["method"]) == ("B", "override")
    assert m["overlap_share"] == 0.0  # none of it lies in B
    assert bool(m["flagged"])
    assert "contradicts geometry" in m["note"]
    report = {r["compound"].strip(): r["status"] for r in out.attrs["overrides"]}
    assert report["福隆\u3000广场"] == "applied"
    assert report["不存在的小区"] == "no such compound"
    assert report["point"] == "no such area"
    # the point whose override names no area keeps its geometric assignment
    assert out.set_index("compound_id").loc["P", "method"] == "contained"


def test_override_matching_geometry_not_flagged() -> None:
    overrides = pd.DataFrame({"compound": ["outside"], "community": ["002"]})
    out = assign_compounds(_compounds(), _areas(), overrides=overrides).set_index("compound_id")
    # "outside" (L) goes to B by geometry too: the override agrees, so no flag
    assert (out.loc["L", "area_id"], out.loc["L", "method"]) == ("B", "override")
    assert not bool(out.loc["L", "flagged"])


def test_outside_prefers_longest_non_arterial_border() -> None:
    """Compound Q sits in a gap above both areas, bordering A along 60 m and B along 40 m;
    a primary road runs along its border with A, so it goes to B::

               +------Q-----+           Q: x 40..140, y 105..120
        -------=============------ y=102 primary road from x 0 to x 100
        +----------+----------+ y=100
        |    A     |    B     |
    """
    comps = gpd.GeoDataFrame({"compound_id": ["Q"]}, geometry=[box(40, 105, 140, 120)], crs=CRS)
    roads = gpd.GeoDataFrame(
        {"road_class": ["primary"]}, geometry=[LineString([(0, 102), (100, 102)])], crs=CRS
    )
    plain = assign_compounds(comps, _areas(), tolerance=10)
    assert plain["area_id"].tolist() == ["A"]
    with_road = assign_compounds(comps, _areas(), roads=roads, tolerance=10)
    assert with_road["area_id"].tolist() == ["B"]
    assert with_road["method"].tolist() == ["nearest"]
    assert with_road["flagged"].tolist() == [True]


def test_far_outside_goes_to_nearest() -> None:
    comps = gpd.GeoDataFrame({"compound_id": ["far"]}, geometry=[Point(-500, 50)], crs=CRS)
    out = assign_compounds(comps, _areas())
    assert out["area_id"].tolist() == ["A"]
    assert out["method"].tolist() == ["nearest"]


def test_reference_overrides_apply_to_policy_names() -> None:
    """The shipped named assignments: 福隆广场 -> 锦青社区 (area B here)."""
    out = assign_compounds(_compounds(), _areas(), overrides=load_overrides())
    assert out.set_index("compound_id").loc["M", "area_id"] == "B"
    statuses = {r["compound"]: r["status"] for r in out.attrs["overrides"]}
    assert statuses["福隆广场"] == "applied"
    assert statuses["新世纪豪园"] == "no such compound"


def test_summary() -> None:
    out = assign_compounds(_compounds(), _areas())
    summary = assignment_summary(out)
    per_area = {a["area_id"]: a["households"] for a in summary["areas"]}
    assert per_area == {"A": 140.0, "B": 25.0}
    assert summary["households"] == 165.0
    assert {f["compound_id"] for f in summary["flagged"]} == {"K", "L"}
    assert summary["methods"] == {"overlap": 2, "contained": 1, "nearest": 1}


def test_bad_input() -> None:
    with pytest.raises(InputError, match="no id field 'tract'"):
        assign_compounds(_compounds(), _areas(), area_id_field="tract")
    dup = _areas().assign(area_id=["A", "A"])
    with pytest.raises(InputError, match=r"areas: duplicate area_id 'A' \(rows 1 and 2\)"):
        assign_compounds(_compounds(), dup)
    gap = _areas().assign(area_id=["A", None])
    with pytest.raises(InputError, match="areas: feature at row 2 has no area_id"):
        assign_compounds(_compounds(), gap)
    lines = gpd.GeoDataFrame(
        {"compound_id": ["x"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS
    )
    with pytest.raises(InputError, match="compounds feature x: LineString"):
        assign_compounds(lines, _areas())
    with pytest.raises(InputError, match="no 'nom' field"):
        assign_compounds(
            _compounds(),
            _areas(),
            overrides=pd.DataFrame({"compound": ["a"], "community": ["b"]}),
            compound_name_field="nom",
        )


@pytest.mark.realdata
def test_providence_blocks_to_block_groups(shared_data: Path) -> None:
    """Every block goes to the block group that contains it (GEOID10 prefix, 12 chars)."""
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["bg"] = blocks["GEOID10"].str[:12]
    groups = blocks.dissolve("bg").reset_index()[["bg", "geometry"]]
    assert len(groups) == 154
    out = assign_compounds(blocks, groups, compound_id_field="GEOID10", area_id_field="bg")
    assert len(out) == 3014
    assert (out["area_id"] == blocks["bg"]).all()
    assert (out["overlap_share"] == 1.0).all()
    assert not out["flagged"].any()


def test_cover_tolerance() -> None:
    """A compound sticking 0.5 mm out of A counts as wholly inside with the default 1 mm
    tolerance, and as straddling (by a hair) when coverage is tested exactly::

        +----------+-+
        |  A  [ K  | |]   K: x 60..100.0005
        +----------+-+
    """
    comps = gpd.GeoDataFrame({"compound_id": ["K"]}, geometry=[box(60, 40, 100.0005, 60)], crs=CRS)
    loose = assign_compounds(comps, _areas())
    assert (loose["area_id"].item(), loose["overlap_share"].item()) == ("A", 1.0)
    exact = assign_compounds(comps, _areas(), cover_tolerance=0)
    assert exact["area_id"].item() == "A"
    assert exact["overlap_share"].item() == pytest.approx(40 / 40.0005, abs=1e-6)
    assert exact["overlap_share"].item() < 1.0


def test_index_and_clashing_columns_are_kept_straight() -> None:
    """A non-default index and an input column named like an output column."""
    comps = _compounds().set_index(gpd.pd.Index([7, 3, 9, 1])).assign(area_id="stale")
    out = assign_compounds(comps, _areas())
    assert out.index.tolist() == [7, 3, 9, 1]
    assert out["compound_id"].tolist() == ["K", "P", "L", "M"]
    assert out["area_id"].tolist() == ["A", "B", "B", "A"]
    assert out.crs == comps.crs
    assert list(out.columns).count("area_id") == 1


def _random_instance(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A 12 x 12 lattice of 100 m areas and 2,000 compounds: boxes of 5-60 m (many straddle
    an area boundary, some lie beyond the lattice) and a few points."""
    rng = np.random.default_rng(seed)
    areas = gpd.GeoDataFrame(
        {"area_id": [f"a{i}-{j}" for i in range(12) for j in range(12)]},
        geometry=[box(i * 100, j * 100, i * 100 + 100, j * 100 + 100)
                  for i in range(12) for j in range(12)],
        crs=CRS,
    )  # fmt: skip
    x, y = rng.uniform(-50, 1250, (2, 2000))
    w, h = rng.uniform(5, 60, (2, 2000))
    geoms = [box(a, b, a + c, b + d) for a, b, c, d in zip(x, y, w, h, strict=True)]
    geoms[::97] = [Point(a, b) for a, b in zip(x[::97], y[::97], strict=True)]
    comps = gpd.GeoDataFrame(
        {"compound_id": [f"c{i}" for i in range(2000)]}, geometry=geoms, crs=CRS
    )
    return comps, areas


@pytest.mark.parametrize("cover_tolerance", [0.001, 0.0])
def test_threads_do_not_change_the_result(cover_tolerance: float) -> None:
    """Splitting the geometry tests between threads gives the single-thread answer, which is
    the largest true overlap (checked against plain shapely intersections)."""
    comps, areas = _random_instance(7)
    one = assign_compounds(comps, areas, workers=1, cover_tolerance=cover_tolerance)
    for workers in (2, 3, 8):
        many = assign_compounds(comps, areas, workers=workers, cover_tolerance=cover_tolerance)
        pd.testing.assert_frame_equal(one, many)
    polys = one[one.geom_type == "Polygon"]
    inside = polys[polys["method"] == "overlap"]
    assert 100 < (inside["overlap_share"] < 1).sum() < len(inside)  # straddlers do occur
    agoms = areas.set_index("area_id").geometry
    truth = shapely.area(
        shapely.intersection(inside.geometry.values, agoms.loc[inside["area_id"]].values)
    ) / shapely.area(inside.geometry.values)
    np.testing.assert_allclose(inside["overlap_share"], truth, atol=1e-6)
    best = [max(shapely.area(shapely.intersection(g, areas.geometry.values))) / g.area
            for g in inside.geometry.values[:300]]  # fmt: skip
    np.testing.assert_allclose(inside["overlap_share"].to_numpy()[:300], best, atol=1e-6)


def test_compound_ids_must_be_present_and_unique() -> None:
    dup = _compounds().assign(compound_id=["K", "P", "K", "M"])
    with pytest.raises(InputError, match=r"compounds: duplicate compound_id 'K' \(rows 1 and 3\)"):
        assign_compounds(dup, _areas())
    gap = _compounds().assign(compound_id=["K", None, "L", "M"])
    with pytest.raises(InputError, match="compounds: feature at row 2 has no compound_id"):
        assign_compounds(gap, _areas())
    numbered = _compounds().assign(cid=[1.0, 2.0, 3.0, 4.0])
    out = assign_compounds(numbered, _areas(), compound_id_field="cid")
    assert out["compound_id"].tolist() == ["1", "2", "3", "4"]


def test_workers_must_be_positive() -> None:
    with pytest.raises(InputError, match="workers must be at least 1"):
        assign_compounds(_compounds(), _areas(), workers=0)
