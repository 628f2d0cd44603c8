"""Walking reach on the network (gridplan.geo.reach), rule reach.outside, siting (MCLP)."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

import reachtown as town
from gridplan.data.households import estimate_households
from gridplan.data.layers import LayerKind
from gridplan.data.osm import read_osm
from gridplan.errors import InputError
from gridplan.geo.reach import (
    attach,
    facility_kind,
    grade_separated,
    household_locations,
    network_distances,
    node_distances,
    service_centres,
    service_reach,
    threshold_metres,
    walking_network,
)
from gridplan.geo.rules import CheckConfig, check_areas
from gridplan.geo.siting import site_mclp

# --------------------------------------------------------------------------- the river town


def test_the_compound_across_the_river_is_1400_m_away_by_the_bridge() -> None:
    net = walking_network(town.paths())
    f = attach(net, [town.pt(550, 0)])
    homes = attach(net, [town.pt(550, 300), town.pt(350, 0)])
    d = network_distances(net, f, homes, limit=5000.0)
    assert d[0].tolist() == pytest.approx([1400.0, 200.0], abs=1e-6)
    assert town.pt(550, 0).distance(town.pt(550, 300)) == pytest.approx(300.0)
    # within 1,000 m only S is reached; the search stops at the limit
    assert network_distances(net, f, homes, limit=1000.0)[0].tolist() == [np.inf, 200.0]


def test_reach_per_community_counts_the_unreached_compound() -> None:
    result = service_reach(
        town.areas(),
        town.facilities(),
        household_locations(compounds=town.compounds()),
        town.paths(),
        thresholds=(300, 500, 1000, 1500),
    )
    rows = result.communities.set_index("threshold")
    assert rows.loc[500.0, "households"] == 500.0
    assert rows.loc[500.0, "centres"] == "F"
    assert rows.loc[500.0, "households_within"] == 200.0
    assert rows.loc[500.0, "share"] == pytest.approx(0.4)
    assert rows.loc[1500.0, "share"] == pytest.approx(1.0)
    assert rows.loc[500.0, "share_any"] == pytest.approx(0.4)
    assert list(result.unreached(500.0)["location_id"]) == ["N"]
    assert result.unreached(1500.0).empty
    distances = result.locations.set_index("location_id")["distance_centre"]
    assert distances.to_dict() == pytest.approx({"N": 1400.0, "S": 200.0})


def test_isochrones_follow_the_network_not_a_circle() -> None:
    result = service_reach(
        town.areas(),
        town.facilities(),
        household_locations(compounds=town.compounds()),
        town.paths(),
        thresholds=(500.0, 1500.0),
    )
    iso = result.isochrones().set_index("threshold").geometry
    north, south = town.pt(550, 300), town.pt(350, 0)
    assert iso[500.0].contains(south) and not iso[500.0].contains(north)
    # a 500 m circle would hold N; the isochrone stops at the river
    assert town.pt(550, 0).buffer(500.0).contains(north)
    assert iso[1500.0].contains(north)
    # along the south street the band reaches exactly 500 m (plus its 25 m half-width)
    reach_x = iso[500.0].intersection(town.line((-100, 0), (600, 0))).bounds[0] - town.X0
    assert reach_x == pytest.approx(50.0 - 25.0, abs=1.0)


def test_rule_reach_outside_names_the_unreached_compound() -> None:
    report = check_areas(
        town.areas(), facilities=town.facilities(), paths=town.paths(), compounds=town.compounds()
    )
    found = report.findings[report.findings["rule"] == "reach.outside"]
    assert len(found) == 1
    row = found.iloc[0]
    assert row["area_id"] == "A" and row["value"] == 300.0
    assert "300 of 500 households (60%) live beyond a 10-minute walk (500 m)" in row["message"]
    assert "service centre F" in row["message"] and "target 100%" in row["message"]
    assert row.geometry.equals_exact(town.pt(550, 300), 1e-6)
    # at 30 minutes (1,500 m) everyone is within reach; a 40 % target is met at 10 minutes
    assert (
        "reach.outside"
        not in check_areas(
            town.areas(),
            facilities=town.facilities(),
            paths=town.paths(),
            compounds=town.compounds(),
            config=CheckConfig(reach_minutes=30),
        ).by_rule()
    )
    assert (
        "reach.outside"
        not in check_areas(
            town.areas(),
            facilities=town.facilities(),
            paths=town.paths(),
            compounds=town.compounds(),
            config=CheckConfig(reach_target_share=0.4),
        ).by_rule()
    )


def test_rule_without_network_notes_why_and_without_facilities_stays_silent() -> None:
    report = check_areas(town.areas(), facilities=town.facilities(), compounds=town.compounds())
    assert "reach not checked: no paths or roads to walk along" in report.notes
    assert "reach.outside" not in report.by_rule()
    plain = check_areas(town.areas(), paths=town.paths(), compounds=town.compounds())
    assert not any("reach" in n for n in plain.notes)


def test_a_community_without_a_centre_has_none_within_reach() -> None:
    other = town.facilities().assign(kind="school")
    result = service_reach(
        town.areas(),
        other,
        household_locations(compounds=town.compounds()),
        town.paths(),
        thresholds=(500.0,),
    )
    row = result.at(500.0).iloc[0]
    assert row["centres"] == "" and row["households_within"] == 0.0
    assert row["households_within_any"] == 200.0  # the school is a facility all the same
    report = check_areas(
        town.areas(), facilities=other, paths=town.paths(), compounds=town.compounds()
    )
    message = report.findings[report.findings["rule"] == "reach.outside"]["message"].iloc[0]
    assert "500 of 500 households (100%)" in message and "it has none" in message


def test_service_centre_column_marks_the_centre() -> None:
    two = gpd.GeoDataFrame(
        {"facility_id": ["F", "G"], "kind": ["community_centre", "clinic"]},
        geometry=[town.pt(550, 0), town.pt(550, 300)],
        crs=town.CRS,
    )
    marked = town.areas().assign(service_centre="G")
    assert [list(c) for c in service_centres(marked, two)] == [[1]]
    assert [list(c) for c in service_centres(town.areas(), two)] == [[0]]
    with pytest.raises(InputError, match="unknown facility id"):
        service_centres(town.areas().assign(service_centre="F; nope"), two)
    result = service_reach(
        marked,
        two,
        household_locations(compounds=town.compounds()),
        town.paths(),
        thresholds=(500.0,),
        kind="Community Centre",
    )
    row = result.at(500.0).iloc[0]
    assert row["centres"] == "G" and row["households_within"] == 300.0
    assert row["households_within_any"] == 200.0  # of kind community_centre: F only


# --------------------------------------------------------------------------- exact distances


def _lattice(size: int = 5, step: float = 100.0) -> gpd.GeoDataFrame:
    """A ``size × size`` street lattice, ``step`` metres apart, one line per street."""
    end = (size - 1) * step
    rows = [town.line((0, k * step), (end, k * step)) for k in range(size)]
    cols = [town.line((k * step, 0), (k * step, end)) for k in range(size)]
    return gpd.GeoDataFrame(geometry=rows + cols, crs=town.CRS)


def test_exact_distances_on_a_lattice() -> None:
    """The crossing streets are noded: 25 nodes, 40 edges; Manhattan distances."""
    net = walking_network(_lattice())
    assert (net.n, net.m) == (25, 40)
    src = attach(net, [town.pt(0, 0)])
    homes = [town.pt(400, 300), town.pt(250, 100), town.pt(250, 130), town.pt(-30, -40)]
    got = network_distances(net, src, attach(net, homes), limit=10_000.0)[0]
    # (250, 130): nearest street y = 100 (30 m off), then 250 + 100 along the lattice
    assert got.tolist() == pytest.approx([700.0, 350.0, 380.0, 50.0])  # (-30, -40): 50 m off
    assert network_distances(net, src, attach(net, homes), limit=360.0)[0].tolist() == [
        np.inf,
        pytest.approx(350.0),
        np.inf,
        pytest.approx(50.0),
    ]
    nodes = node_distances(net, src, limit=10_000.0)[0]
    manhattan = np.abs(net.xy - [town.X0, town.Y0]).sum(axis=1)
    assert nodes == pytest.approx(manhattan, abs=1e-6)


def test_two_sources_on_the_same_edge_and_min_only() -> None:
    net = walking_network(_lattice())
    sources = attach(net, [town.pt(120, 0), town.pt(400, 400)])
    homes = attach(net, [town.pt(180, 0), town.pt(0, 0), town.pt(400, 300)])
    d = network_distances(net, sources, homes, limit=10_000.0)
    np.testing.assert_allclose(d, [[60.0, 120.0, 580.0], [620.0, 800.0, 100.0]])
    nearest = network_distances(net, sources, homes, limit=10_000.0, min_only=True)
    assert nearest.tolist() == pytest.approx([60.0, 120.0, 100.0])


def test_bridges_cross_without_meeting() -> None:
    """An X of two streets meets at the crossing; when one is a bridge, it does not."""
    x = gpd.GeoDataFrame(
        {"bridge": [None, None]},
        geometry=[town.line((0, 0), (200, 200)), town.line((0, 200), (200, 0))],
        crs=town.CRS,
    )
    ends = [town.pt(0, 0), town.pt(0, 200)]
    net = walking_network(x)
    d = network_distances(net, attach(net, ends[:1]), attach(net, ends[1:]), limit=1e4)
    assert d[0, 0] == pytest.approx(2 * 100 * np.sqrt(2))
    over = walking_network(x.assign(bridge=["yes", None]))
    d = network_distances(over, attach(over, ends[:1]), attach(over, ends[1:]), limit=1e4)
    assert d[0, 0] == np.inf
    assert grade_separated(x.assign(tunnel=["building_passage", "yes"])).tolist() == [False, True]


def test_parameters() -> None:
    assert threshold_metres(minutes=10) == 500.0
    assert threshold_metres(minutes=10, speed=80) == 800.0
    for bad in ({"metres": 0}, {"minutes": -1}, {}, {"metres": 1, "minutes": 1}):
        with pytest.raises(InputError):
            threshold_metres(**bad)  # type: ignore[arg-type]
    assert facility_kind("社区服务中心 ") == "社区服务中心"
    with pytest.raises(InputError, match="no lines"):
        walking_network(gpd.GeoDataFrame(geometry=[town.pt(0, 0)], crs=town.CRS))
    with pytest.raises(InputError, match="thresholds"):
        service_reach(
            town.areas(), town.facilities(), town.compounds(), town.paths(), thresholds=(-5,)
        )


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_helsinki_distances_equal_networkx_dijkstra(helsinki_pbf: Path) -> None:
    """Every facility to every building with households on the Helsinki walking network:
    gridplan's distances equal networkx Dijkstra on the same graph within 1 m."""
    layers = read_osm(helsinki_pbf)
    net = walking_network(layers[LayerKind.PATHS])
    assert net.n > 5000
    buildings = estimate_households(layers[LayerKind.BUILDINGS]).buildings
    homes = household_locations(buildings=buildings).to_crs(net.crs)
    assert len(homes) > 300
    facilities = layers[LayerKind.FACILITIES].to_crs(net.crs)
    src = attach(net, np.asarray(facilities.geometry.values))
    dst = attach(net, np.asarray(homes.geometry.representative_point().values))
    limit = 1000.0
    got = network_distances(net, src, dst, limit=limit)
    assert np.isfinite(got).mean() > 0.3
    graph = net.to_networkx()
    for i in range(len(facilities)):
        g = graph.copy()  # type: ignore[attr-defined]
        e = int(src.edge[i])
        g.add_edge("f", int(net.u[e]), length=src.access[i] + src.offset[i])
        g.add_edge("f", int(net.v[e]), length=src.access[i] + net.length[e] - src.offset[i])
        dist = nx.single_source_dijkstra_path_length(g, "f", weight="length")
        for j in range(len(homes)):
            h = int(dst.edge[j])
            via = (
                min(
                    dist.get(int(net.u[h]), np.inf) + dst.offset[j],
                    dist.get(int(net.v[h]), np.inf) + net.length[h] - dst.offset[j],
                )
                + dst.access[j]
            )
            if h == e:
                via = min(via, src.access[i] + abs(src.offset[i] - dst.offset[j]) + dst.access[j])
            want = via if via <= limit else np.inf
            assert got[i, j] == pytest.approx(want, abs=1.0), (i, j)


@pytest.mark.realdata
def test_helsinki_reach_of_the_community_centres(helsinki_pbf: Path) -> None:
    layers = read_osm(helsinki_pbf)
    buildings = estimate_households(layers[LayerKind.BUILDINGS]).buildings
    outline = gpd.GeoDataFrame(
        {"area_id": ["all"], "name": ["central Helsinki"]},
        geometry=[shapely.box(*layers[LayerKind.PATHS].total_bounds)],
        crs=4326,
    )
    result = service_reach(
        outline,
        layers[LayerKind.FACILITIES],
        household_locations(buildings=buildings),
        layers[LayerKind.PATHS],
    )
    rows = result.communities.set_index("threshold")
    assert set(rows.index) == {300.0, 500.0, 1000.0}
    centres = rows.loc[500.0, "centres"].split(";")
    kinds = layers[LayerKind.FACILITIES].set_index("facility_id")["kind"]
    assert centres and all(kinds[c] == "community_centre" for c in centres)
    shares = [rows.loc[t, "share"] for t in (300.0, 500.0, 1000.0)]
    assert 0 < shares[0] <= shares[1] <= shares[2] <= 1
    assert rows.loc[1000.0, "households_within_any"] >= rows.loc[1000.0, "households_within"]
    iso = result.isochrones([500.0])
    assert len(iso) == int(result.facilities["selected"].sum())
    assert (iso.geometry.area < np.pi * 525.0**2).all()  # never more than a circle


# --------------------------------------------------------------------------- siting


def _brute(cover: np.ndarray, w: np.ndarray, k: int, done: np.ndarray) -> float:
    best = 0.0
    for combo in itertools.combinations(range(cover.shape[0]), k):
        hit = cover[list(combo)].any(axis=0) & ~done
        best = max(best, float(w[hit].sum()))
    return best


def test_exact_siting_equals_brute_force_and_beats_or_ties_greedy() -> None:
    rng = np.random.default_rng(7)
    for trial in range(12):
        cover = rng.random((9, 30)) < 0.25
        w = rng.integers(1, 40, 30).astype(float)
        done = rng.random(30) < 0.2
        for k in (1, 2, 3):
            exact = site_mclp(cover, w, k, covered=done)
            greedy = site_mclp(cover, w, k, covered=done, method="greedy")
            assert exact.optimal
            assert exact.gained == pytest.approx(_brute(cover, w, k, done)), (trial, k)
            assert greedy.gained <= exact.gained + 1e-9
            assert exact.baseline == pytest.approx(w[done].sum())
            assert sum(exact.gains) == pytest.approx(exact.gained)


def test_siting_in_the_river_town_puts_the_centre_across_the_river() -> None:
    """Candidates: each compound. With F kept, the best new site is N itself (300 gained)."""
    net = walking_network(town.paths())
    sites = [town.pt(550, 300), town.pt(350, 0)]
    cover = network_distances(net, attach(net, sites), attach(net, sites), limit=500.0) <= 500
    w = np.array([300.0, 200.0])
    done = np.array([False, True])  # S is within 500 m of F already
    best = site_mclp(cover, w, 1, covered=done)
    assert best.chosen == (0,) and best.gained == 300.0 and best.covered == 500.0
    with pytest.raises(InputError, match="count"):
        site_mclp(cover, w, 3)


@pytest.mark.realdata
def test_local_searches_equal_whole_graph_searches(
    helsinki_pbf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a network larger than LOCAL_MIN_NODES each source searches only the square a walk
    can reach: the distances are exactly those of a search of the whole graph."""
    import gridplan.geo.reach as reach

    layers = read_osm(helsinki_pbf)
    net = walking_network(layers[LayerKind.PATHS])
    assert net.n > reach.LOCAL_MIN_NODES
    buildings = estimate_households(layers[LayerKind.BUILDINGS]).buildings
    homes = household_locations(buildings=buildings).to_crs(net.crs).representative_point()
    # every building as a source too: many sources per cell, on the edge of the extract
    src = attach(net, np.asarray(homes.values)[::7])
    dst = attach(net, np.asarray(homes.values))
    for limit in (250.0, 1000.0):
        local = network_distances(net, src, dst, limit=limit)
        with monkeypatch.context() as m:
            m.setattr(reach, "LOCAL_MIN_NODES", 10**9)
            whole = network_distances(net, src, dst, limit=limit)
        np.testing.assert_array_equal(np.isfinite(local), np.isfinite(whole))
        np.testing.assert_allclose(local[np.isfinite(local)], whole[np.isfinite(whole)])
