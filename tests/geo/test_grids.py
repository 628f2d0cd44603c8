"""Tests of grid division (gridplan.geo.grids)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import shapely
from shapely import box

from gridplan.errors import InputError
from gridplan.geo.codes import CodeScheme, reading_order
from gridplan.geo.graph import UnitGraph
from gridplan.geo.grids import GridParams, divide_into_grids, greedy_engine

CRS = "EPSG:32650"  # UTM 50N (Fujian): a true metric CRS, lengths exact


def _lattice(households: list[list[float]], area_id: str | None = "A") -> gpd.GeoDataFrame:
    """Units on a lattice of 100 m squares; row 0 is the northernmost row."""
    rows = len(households)
    data: dict[str, list[object]] = {"unit_id": [], "households": []}
    geoms = []
    for r, row in enumerate(households):
        for c, hh in enumerate(row):
            data["unit_id"].append(f"r{r}c{c}")
            data["households"].append(hh)
            y0 = (rows - 1 - r) * 100
            geoms.append(box(c * 100, y0, c * 100 + 100, y0 + 100))
    units = gpd.GeoDataFrame(data, geometry=geoms, crs=CRS)
    if area_id is not None:
        units["area_id"] = area_id
    return units


def _area(units: gpd.GeoDataFrame, area_id: str = "A", code: str = "004") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": [area_id], "code": [code], "name": ["青新社区"]},
        geometry=[shapely.union_all(units.geometry.values)],
        crs=CRS,
    )


def test_grids_in_band_coded_in_reading_order() -> None:
    """A 2 x 4 lattice of 100-household units, band 150–250: four grids of 200::

    +----+----+----+----+
    |100 |100 |100 |100 |   north
    +----+----+----+----+
    |100 |100 |100 |100 |   south
    +----+----+----+----+
    """
    units = _lattice([[100.0] * 4, [100.0] * 4])
    result = divide_into_grids(
        units, _area(units), params=GridParams(150, 250), scheme=CodeScheme("350582", "001")
    )
    grids = result.grids
    assert len(grids) == 4
    assert grids["households"].tolist() == [200.0] * 4
    assert grids["in_band"].all()
    assert grids["grid_code"].tolist() == [f"350582001004{i:03d}" for i in range(1, 5)]
    # reading order: centroids go west to east, then north to south
    cent = np.column_stack([grids.centroid.x, grids.centroid.y])
    assert reading_order(cent, None, grids.area.to_numpy()).tolist() == [0, 1, 2, 3]
    assert result.communities["valid"].tolist() == [True]
    assert result.communities["explanation"].tolist() == [None]
    # every unit is in exactly one grid, and the grids tile the community
    assert sorted(result.assignments["unit_id"]) == sorted(units["unit_id"])
    assert shapely.union_all(grids.geometry.values).area == pytest.approx(80000.0)
    assert set(result.assignments["grid_id"]) == set(grids["grid_code"])


def test_oversize_unit_is_its_own_grid_and_explained() -> None:
    """The middle unit holds 900 households, above the ceiling 500::

    +-----+-----+-----+-----+
    | 200 | 900 | 200 | 200 |
    +-----+-----+-----+-----+
    """
    units = _lattice([[200.0, 900.0, 200.0, 200.0]])
    result = divide_into_grids(units, _area(units), params=GridParams(300, 500))
    big = result.grids[result.grids["households"] == 900.0]
    assert len(big) == 1
    assert not bool(big["in_band"].iloc[0])
    assert "r0c1" in big["note"].iloc[0]
    assert "cannot be split" in big["note"].iloc[0]
    explanation = result.communities["explanation"].iloc[0]
    assert "above the ceiling 500" in explanation
    assert not bool(result.communities["valid"].iloc[0])
    # the 200-household unit left alone west of the big one is under the floor
    assert float(result.grids["households"].sum()) == 1500.0


def test_small_community_is_one_grid() -> None:
    units = _lattice([[50.0, 60.0]])
    result = divide_into_grids(units, _area(units), params=GridParams(300, 500))
    assert len(result.grids) == 1
    assert result.grids["households"].tolist() == [110.0]
    assert "below the floor 300" in result.communities["explanation"].iloc[0]


def test_community_band_1000_3000() -> None:
    """Twelve units of 500 households, band 1000–3000."""
    units = _lattice([[500.0] * 4] * 3)
    result = divide_into_grids(units, _area(units), params=GridParams(1000, 3000))
    assert result.grids["in_band"].all()
    assert result.grids["households"].sum() == 6000.0
    assert result.communities["valid"].all()


def test_units_assigned_by_overlap_and_outside_reported() -> None:
    units = _lattice([[200.0, 200.0, 200.0]], area_id=None)
    outside = gpd.GeoDataFrame(
        {"unit_id": ["far"], "households": [10.0]}, geometry=[box(5000, 0, 5100, 100)], crs=CRS
    )
    both = gpd.GeoDataFrame(
        gpd.pd.concat([units, outside], ignore_index=True), geometry="geometry", crs=CRS
    )
    result = divide_into_grids(both, _area(units), params=GridParams(150, 250))
    assert result.unplaced_units == ["far"]
    assert len(result.grids) == 3


@dataclass(frozen=True)
class _Result:
    labels: npt.NDArray[np.int64]
    valid: bool
    reason: str | None


class _Recorder:
    """An engine (PartitionEngine protocol) that splits the nodes west/east of the median
    centroid and records the graphs it sees."""

    def __init__(self) -> None:
        self.graphs: list[UnitGraph] = []

    def __call__(
        self, graph: UnitGraph, lo: float, hi: float, *, seed: int, time_limit: float | None
    ) -> _Result:
        self.graphs.append(graph)
        x = graph.centroids[:, 0]
        return _Result((x > np.median(x)).astype(np.int64), True, None)


def test_engine_is_swappable_and_compound_edges_are_preferred() -> None:
    """Four units in a row; u2 is a compound. Edges bounding it (no road) reach the engine as
    class 'other', the others as None::

        +----+----+----+----+
        | u1 |[u2]| u3 | u4 |
        +----+----+----+----+
    """
    units = _lattice([[100.0] * 4])
    units["kind"] = ["block", "compound", "block", "block"]
    engine = _Recorder()
    result = divide_into_grids(units, _area(units), params=GridParams(150, 250), engine=engine)
    assert len(engine.graphs) == 1
    assert engine.graphs[0].edges["road_class"].tolist() == ["other", "other", None]
    assert result.grids["households"].tolist() == [200.0, 200.0]


def test_failing_engine_falls_back_to_greedy_and_is_explained() -> None:
    class _Never:
        def __call__(
            self, graph: UnitGraph, lo: float, hi: float, *, seed: int, time_limit: float | None
        ) -> _Result:
            return _Result(np.full(graph.n, -1, dtype=np.int64), False, "no plan, for a test")

    units = _lattice([[200.0] * 4])
    result = divide_into_grids(units, _area(units), params=GridParams(300, 500), engine=_Never())
    assert result.grids["households"].tolist() == [400.0, 400.0]
    assert result.communities["valid"].tolist() == [True]
    explanation = result.communities["explanation"].iloc[0]
    assert "no plan, for a test" in explanation
    assert "greedy fallback did" in explanation


def test_greedy_engine() -> None:
    """A path of six units of 100 households; band 150–250 -> three grids of 200::

    1 - 2 - 3 - 4 - 5 - 6
    """
    g = UnitGraph(
        unit_ids=np.array([str(i) for i in range(6)], dtype=object),
        households=np.full(6, 100.0),
        residents=np.zeros(6),
        edges=gpd.pd.DataFrame(
            {"u": range(5), "v": range(1, 6), "length": [1.0] * 5, "road_class": [None] * 5}
        ),
        centroids=np.array([[i * 10.0, 0.0] for i in range(6)]),
        areas=np.ones(6),
    )
    result = greedy_engine(g, 150, 250)
    assert result.valid
    assert result.labels.tolist() == [0, 0, 1, 1, 2, 2]
    impossible = greedy_engine(g, 700, 800)
    assert not impossible.valid
    assert "out of band" in (impossible.reason or "")


def test_bad_input() -> None:
    units = _lattice([[100.0]])
    with pytest.raises(InputError, match="no field 'hh'"):
        divide_into_grids(units, _area(units), households_column="hh")
    with pytest.raises(InputError, match="band"):
        GridParams(500, 300)
    neg = units.assign(households=[-1.0])
    with pytest.raises(InputError, match="negative"):
        divide_into_grids(neg, _area(units))


@pytest.mark.parametrize("time_limit", [0.0, -1.0, float("nan"), float("inf")])
def test_time_limit_must_be_positive_and_finite(time_limit: float) -> None:
    """A zero, negative, NaN or infinite time limit used to be accepted and handed to the
    engine (zero: no time at all; NaN: a deadline that never compares true)."""
    with pytest.raises(InputError, match=r"time_limit must be a positive number of seconds"):
        GridParams(300, 500, time_limit=time_limit)


def test_time_limit_none_or_positive_is_accepted() -> None:
    assert GridParams(300, 500, time_limit=None).time_limit is None
    assert GridParams(300, 500, time_limit=0.5).time_limit == 0.5


def test_repeated_unit_ids_are_input_errors() -> None:
    """Two units with one id in different communities used to pass (each community's graph
    held one of them) and gave two assignment rows for one unit id::

        +------+------+------+------+
        | r0c0 | r0c1 | r0c0 | r0c3 |    community A: x 0..200, B: x 200..400
        +------+------+------+------+
    """
    units = _lattice([[100.0] * 4], area_id=None)
    units["unit_id"] = ["r0c0", "r0c1", "r0c0", "r0c3"]
    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B"]}, geometry=[box(0, 0, 200, 100), box(200, 0, 400, 100)], crs=CRS
    )
    with pytest.raises(InputError, match=r"^units: duplicate unit_id 'r0c0' \(rows 1 and 3\)$"):
        divide_into_grids(units, areas, params=GridParams(100, 300))
    with pytest.raises(InputError, match="units: duplicate unit_id 'r0c0'"):
        divide_into_grids(units.assign(area_id=["A", "A", "B", "B"]), areas)


def test_missing_unit_id_is_an_input_error() -> None:
    """A unit without an id used to become the unit ``'nan'`` in the assignments."""
    units = _lattice([[100.0, 100.0]]).astype({"unit_id": object})
    units.loc[1, "unit_id"] = None
    with pytest.raises(InputError, match=r"^units: feature at row 2 has no unit_id$"):
        divide_into_grids(units, _area(units), params=GridParams(100, 300))


def test_repeated_community_ids_are_input_errors() -> None:
    """A repeated community id used to divide the same units twice (two sets of grids with
    the same codes)."""
    units = _lattice([[100.0, 100.0]])
    area = _area(units)
    twice = gpd.GeoDataFrame(pd.concat([area, area], ignore_index=True), crs=CRS)
    with pytest.raises(InputError, match=r"^areas: duplicate area_id 'A' \(rows 1 and 2\)$"):
        divide_into_grids(units, twice, params=GridParams(100, 300))


def test_households_that_are_not_numbers_are_named() -> None:
    """A count that is not a number used to become 0 households silently."""
    units = _lattice([[100.0, 100.0]]).astype({"households": object})
    units.loc[1, "households"] = "many"
    with pytest.raises(
        InputError,
        match=r"households is not a number in units for feature\(s\) "
        r"r0c1 \('many'\)",
    ):
        divide_into_grids(units, _area(units), params=GridParams(100, 300))
    units.loc[1, "households"] = "100"
    result = divide_into_grids(units, _area(units), params=GridParams(100, 300))
    assert result.grids["households"].sum() == 200.0
    # residents too (they used to become 0 silently); negative counts are refused as well
    units["residents"] = pd.Series(["250", "lots"], dtype=object)
    with pytest.raises(InputError, match=r"residents is not a number in units .*r0c1 \('lots'\)"):
        divide_into_grids(units, _area(units), params=GridParams(100, 300))
    units["residents"] = [250.0, -1.0]
    with pytest.raises(InputError, match="residents"):
        divide_into_grids(units, _area(units), params=GridParams(100, 300))
    units["residents"] = ["250", None]
    result = divide_into_grids(units, _area(units), params=GridParams(100, 300))
    assert result.grids["residents"].sum() == 250.0


@pytest.mark.parametrize("area_id", ["A", None])
def test_unit_without_a_polygon_is_named_as_a_unit(area_id: str | None) -> None:
    """A unit with no polygon is named as a unit (it used to be reported as a bad
    *compound* when units were placed by overlap)."""
    units = _lattice([[100.0, 100.0]], area_id=area_id)
    area = _area(units)
    missing = units.set_geometry([units.geometry.iloc[0], None], crs=CRS)
    with pytest.raises(InputError, match="units feature r0c1: empty geometry"):
        divide_into_grids(missing, area)
    point = units.set_geometry([units.geometry.iloc[0], shapely.Point(150, 50)], crs=CRS)
    with pytest.raises(InputError, match="units feature r0c1: Point geometry"):
        divide_into_grids(point, area)


def test_to_plan() -> None:
    units = _lattice([[100.0] * 4, [100.0] * 4])
    area = _area(units)
    result = divide_into_grids(units, area, params=GridParams(150, 250))
    plan = result.to_plan(area, name="test")
    assert len(plan.areas_at("community")) == 1
    grids = plan.areas_at("grid")
    assert len(grids) == 4
    assert set(grids["parent_id"]) == {"A"}
    assert plan.areas_at("community")["households"].tolist() == [800.0]
    assert plan.targets == {"grid": {"households": [150.0, 250.0]}}


@pytest.mark.realdata
@pytest.mark.slow
def test_providence_tracts_grids_in_band_or_explained(shared_data: Path) -> None:
    """Tracts as communities, blocks as units, households = TOTPOP / 2.5, band 300–500."""
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["households"] = blocks["TOTPOP"] / 2.5
    blocks["area_id"] = blocks["TRACTCE10"]
    tracts = blocks.dissolve("TRACTCE10").reset_index()[["TRACTCE10", "geometry"]]
    tracts = tracts.rename(columns={"TRACTCE10": "area_id"})
    result = divide_into_grids(
        blocks.rename(columns={"GEOID10": "unit_id"}),
        tracts,
        params=GridParams(300, 500, time_limit=3.0),
        scheme=CodeScheme("440070", "000"),
    )
    comm = result.communities.set_index("area_id")
    assert len(comm) == 39
    assert result.grids["households"].sum() == pytest.approx(178040 / 2.5)
    for grid in result.grids.itertuples():
        assert grid.in_band or comm.loc[grid.area_id, "explanation"], grid
    assert (comm["valid"] | comm["explanation"].notna()).all()
    # most communities divide cleanly
    assert comm["valid"].mean() > 0.75
    # a unit over the ceiling is named
    over = blocks[blocks["households"] > 500]
    for unit in over.itertuples():
        assert unit.GEOID10 in comm.loc[unit.area_id, "explanation"]


def _footway_block() -> tuple[gpd.GeoDataFrame, ...]:
    """One road block of eight 100-household cells (2 x 4, 200 m x 400 m) with a footway down
    its middle: units, the community, its roads, the footway::

        +----+----+
        | 03 | 13 |
        +----+----+
        | 02 | 12 |      footway on x = 100
        +----+----+
        | 01 | 11 |
        +----+----+
        | 00 | 10 |
        +----+----+
    """
    from shapely import LineString

    cells = [
        box(c * 100, r * 100, c * 100 + 100, r * 100 + 100) for c in range(2) for r in range(4)
    ]
    ids = [f"c{c}{r}" for c in range(2) for r in range(4)]
    units = gpd.GeoDataFrame(
        {"unit_id": ids, "households": 100.0, "residents": 250.0, "area_id": "A"},
        geometry=cells,
        crs=32650,
    )
    block = box(0, 0, 200, 400)
    communities = gpd.GeoDataFrame({"area_id": ["A"], "code": ["001"]}, geometry=[block], crs=32650)
    roads = gpd.GeoDataFrame({"road_class": ["local"]}, geometry=[block.exterior], crs=32650)
    paths = gpd.GeoDataFrame(
        {"path_id": ["way/1"], "path_class": ["footway"]},
        geometry=[LineString([(100, 0), (100, 400)])],
        crs=32650,
    )
    return units, communities, roads, paths


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grids_cut_along_a_footway_rather_than_across_nothing(seed: int) -> None:
    """The footway block: without the footway the engine cuts across (200 m along nothing);
    with it, the two 400-household grids meet along the footway (400 m, but along a walkable
    way)."""
    from gridplan.geo.grids import grid_ways

    units, communities, roads, paths = _footway_block()

    def grids_of(ways: gpd.GeoDataFrame | None) -> set[frozenset[str]]:
        result = divide_into_grids(
            units, communities, params=GridParams(300, 500, seed=seed), roads=ways
        )
        a = result.assignments
        return {frozenset(a.loc[a["grid_id"] == g, "unit_id"]) for g in a["grid_id"].unique()}

    across = {frozenset({"c00", "c01", "c10", "c11"}), frozenset({"c02", "c03", "c12", "c13"})}
    along = {frozenset({"c00", "c01", "c02", "c03"}), frozenset({"c10", "c11", "c12", "c13"})}
    assert grids_of(roads) == across
    assert grids_of(grid_ways(roads, paths)) == along


def test_a_compound_under_the_ceiling_stays_in_one_grid() -> None:
    """The footway block with a 200-household compound across the footway (the cells of row
    1): the grids no longer meet along the footway there, the compound stays whole."""
    from gridplan.geo.grids import grid_ways

    units, communities, roads, paths = _footway_block()
    compound = gpd.GeoDataFrame(
        {"compound_id": ["小区"]}, geometry=[box(5, 105, 195, 195)], crs=32650
    )
    result = divide_into_grids(
        units,
        communities,
        params=GridParams(300, 500, seed=1),
        roads=grid_ways(roads, paths),
        compounds=compound,
    )
    grid_of = dict(zip(result.assignments["unit_id"], result.assignments["grid_id"], strict=True))
    assert grid_of["c01"] == grid_of["c11"]
    assert result.grids["households"].between(300, 500).all()
    assert result.grids["households"].sum() == 800
