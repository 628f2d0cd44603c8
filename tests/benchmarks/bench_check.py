"""Benchmark: gridplan's boundary checks vs the same work in PostGIS SQL and in maup.

Instances
---------
* Providence: 3,014 census blocks dissolved to 154 block groups (households = TOTPOP / 2.5),
  checked as grids with the blocks as units.
* A synthetic city of ``side × side`` square units (100 m, default 100 × 100 = 10,000 units)
  grouped into ~100 irregular areas (each unit joins the nearest of 100 seeded seeds), with
  roads on two of every three lattice lines, so there are off-road stretches to find.

What is compared
----------------
* gridplan: :func:`gridplan.geo.rules.check_areas` — every rule (size, exclaves, islands,
  road share and off-road stretches, gaps, overlaps, compounds) plus per-area metrics.
* PostGIS SQL on the same machine (data loaded into a temporary schema first; loading is
  timed separately): overlaps (``ST_Intersection`` of intersecting pairs, slivers dropped by a
  negative buffer), gaps (``ST_Difference`` of the outline and ``ST_Union``), adjacency
  lengths (``ST_Intersection`` of boundaries), parts and Polsby–Popper, and — when there are
  roads — the share of internal boundary within 15 m of a road (``ST_Buffer`` of the roads).
  ``ST_CoverageInvalidEdges`` needs PostGIS 3.4 / GEOS 3.12; the benchmark says which it used.
* maup (Providence only): ``maup.doctor`` (gaps/overlaps) and ``maup.adjacencies``.

Run: ``.venv/bin/python tests/benchmarks/bench_check.py [--side 100] [--areas 100]
[--repeat 3] [--db postgresql+psycopg://postgres@localhost/gridplan_test] [--no-postgis]``.
"""

from __future__ import annotations

import argparse
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from gridplan.data.crs import metric_crs
from gridplan.geo.rules import CheckConfig, CheckReport, check_areas

PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)
DEFAULT_DB = "postgresql+psycopg://postgres@localhost/gridplan_test"
LATTICE_CRS = 32650  # UTM 50N (Jinjiang)


@dataclass(frozen=True)
class Instance:
    """Areas (with their units and roads) to check."""

    name: str
    units: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None
    level: str
    dissolve_seconds: float


def best_of(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - t)
    return best, result


def providence_instance(path: Path = PROVIDENCE) -> Instance:
    """Providence blocks as units, dissolved to block groups (grids)."""
    blocks = gpd.read_file(path)
    blocks = blocks.to_crs(metric_crs(blocks))
    units = gpd.GeoDataFrame(
        {
            "unit_id": blocks["GEOID10"],
            "residents": blocks["TOTPOP"].astype(float),
            "households": blocks["TOTPOP"].astype(float) / 2.5,
            "group": blocks["GEOID10"].str[:12],
        },
        geometry=blocks.geometry.values,
        crs=blocks.crs,
    )
    t = time.perf_counter()
    areas = dissolve(units)
    return Instance("providence 3,014 blocks → 154 block groups", units, areas, None, "grid",
                    time.perf_counter() - t)  # fmt: skip


def lattice_instance(side: int = 100, n_areas: int = 100, seed: int = 0) -> Instance:
    """``side × side`` 100 m units grouped into ``n_areas`` areas, roads on 2 of 3 lines."""
    rng = np.random.default_rng(seed)
    x0, y0, cell = 650_000.0, 2_740_000.0, 100.0
    col, row = np.meshgrid(np.arange(side), np.arange(side))
    col, row = col.ravel(), row.ravel()
    boxes = shapely.box(
        x0 + col * cell, y0 + row * cell, x0 + (col + 1) * cell, y0 + (row + 1) * cell
    )
    seeds = rng.uniform(0, side, size=(n_areas, 2))
    d = (col[:, None] + 0.5 - seeds[None, :, 0]) ** 2 + (
        row[:, None] + 0.5 - seeds[None, :, 1]
    ) ** 2
    group = np.argmin(d, axis=1)
    households = rng.integers(10, 40, size=side * side).astype(float)
    units = gpd.GeoDataFrame(
        {
            "unit_id": [f"u{i}" for i in range(side * side)],
            "households": households,
            "residents": households * 2.5,
            "group": [f"a{g:03d}" for g in group],
        },
        geometry=boxes,
        crs=LATTICE_CRS,
    )
    lines = [k for k in range(side + 1) if k % 3 != 0]
    far = side * cell
    roads = [
        shapely.LineString([(x0, y0 + k * cell), (x0 + far, y0 + k * cell)]) for k in lines
    ] + [shapely.LineString([(x0 + k * cell, y0), (x0 + k * cell, y0 + far)]) for k in lines]
    road_layer = gpd.GeoDataFrame(
        {"road_id": [str(i) for i in range(len(roads))], "road_class": ["local"] * len(roads)},
        geometry=roads,
        crs=LATTICE_CRS,
    )
    t = time.perf_counter()
    areas = dissolve(units)
    return Instance(f"lattice {side * side:,} units → {len(areas)} areas", units, areas,
                    road_layer, "community", time.perf_counter() - t)  # fmt: skip


def redrawn(inst: Instance, amplitude: float = 0.3, seed: int = 0) -> Instance:
    """The same areas as if digitised by hand: every polygon grown or shrunk by up to
    ``amplitude`` metres (vertices every 50 m), so edges no longer match: slivers of gaps and
    overlaps everywhere, narrower than the 1 m tolerance."""
    rng = np.random.default_rng(seed)
    geoms = shapely.segmentize(np.asarray(inst.areas.geometry.values, dtype=object), 50.0)
    grown = shapely.buffer(
        geoms, rng.uniform(-amplitude, amplitude, len(geoms)), join_style="mitre"
    )
    areas = inst.areas.set_geometry(shapely.make_valid(grown))
    return Instance(f"{inst.name}, redrawn ±{amplitude} m", inst.units, areas, inst.roads,
                    inst.level, inst.dissolve_seconds)  # fmt: skip


def dissolve(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Areas from units grouped by ``group`` (exact coverage union per group)."""
    order = np.argsort(units["group"].to_numpy(), kind="stable")
    groups = units["group"].to_numpy()[order]
    geoms = np.asarray(units.geometry.values, dtype=object)[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)]
    merged = [shapely.coverage_union_all(geoms[s:e]) for s, e in zip(starts, ends, strict=True)]
    return gpd.GeoDataFrame({"area_id": groups[starts]}, geometry=merged, crs=units.crs)


def run_gridplan(inst: Instance) -> CheckReport:
    """The full gridplan check of an instance (households from the units)."""
    return check_areas(
        inst.areas, level=inst.level, roads=inst.roads, units=inst.units, config=CheckConfig()
    )


# --------------------------------------------------------------------------- PostGIS


def postgis_has_coverage_functions(engine: Any) -> bool:
    """Whether the installed PostGIS has ``ST_CoverageInvalidEdges`` (3.4+)."""
    from sqlalchemy import text

    with engine.connect() as con:
        return bool(
            con.execute(
                text("SELECT count(*) FROM pg_proc WHERE proname = 'st_coverageinvalidedges'")
            ).scalar()
        )


def load_postgis(engine: Any, schema: str, inst: Instance) -> float:
    """Load the areas (and roads) into ``schema``; return seconds."""
    from sqlalchemy import text

    t = time.perf_counter()
    with engine.begin() as con:
        con.execute(text(f'CREATE SCHEMA "{schema}"'))
    inst.areas[["area_id", "geometry"]].rename_geometry("geom").to_postgis(
        "areas", engine, schema=schema
    )
    if inst.roads is not None:
        inst.roads[["road_id", "geometry"]].rename_geometry("geom").to_postgis(
            "roads", engine, schema=schema
        )
    with engine.begin() as con:
        con.execute(text(f'CREATE INDEX ON "{schema}".areas USING gist (geom)'))
        if inst.roads is not None:
            con.execute(text(f'CREATE INDEX ON "{schema}".roads USING gist (geom)'))
        con.execute(text(f'ANALYZE "{schema}".areas'))
    return time.perf_counter() - t


def postgis_sql(schema: str, with_roads: bool, coverage_functions: bool) -> list[str]:
    """The SQL equivalent of the checks (without compounds and size, which are trivial)."""
    s = f'"{schema}"'
    sql = [
        # Overlaps: polygonal intersections of intersecting pairs, slivers (< 1 m) dropped.
        f"""SELECT a.area_id, b.area_id, ST_Area(p.geom) FROM {s}.areas a
            JOIN {s}.areas b ON a.area_id < b.area_id AND ST_Intersects(a.geom, b.geom)
                 AND NOT ST_Touches(a.geom, b.geom)
            CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) p
            WHERE NOT ST_IsEmpty(ST_Buffer(p.geom, -0.5))""",
        # Gaps: the outline (union with holes filled) minus the union, slivers dropped.
        f"""WITH u AS (SELECT ST_Union(geom) AS geom FROM {s}.areas),
                 o AS (SELECT ST_Union(ST_MakePolygon(ST_ExteriorRing(d.geom))) AS geom
                       FROM u CROSS JOIN LATERAL ST_Dump(u.geom) d)
            SELECT ST_Area(g.geom) FROM o, u
            CROSS JOIN LATERAL ST_Dump(ST_Difference(o.geom, u.geom)) g
            WHERE NOT ST_IsEmpty(ST_Buffer(g.geom, -0.5))""",
        # Adjacency: shared boundary length of every touching pair.
        f"""SELECT a.area_id, b.area_id,
                   ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)))
            FROM {s}.areas a JOIN {s}.areas b
              ON a.area_id < b.area_id AND ST_Intersects(a.geom, b.geom)""",
        # Parts and Polsby–Popper.
        f"""SELECT area_id, ST_NumGeometries(geom),
                   4 * pi() * ST_Area(geom) / power(ST_Perimeter(geom), 2) FROM {s}.areas""",
    ]
    if coverage_functions:
        sql.append(f"SELECT ST_CoverageInvalidEdges(geom, 1.0) OVER () FROM {s}.areas")
    if with_roads:
        # Share of each area's internal boundary (off the outer edge) within 15 m of a road.
        sql.append(
            f"""WITH u AS (SELECT ST_Boundary(ST_Union(geom)) AS edge FROM {s}.areas),
                     r AS (SELECT ST_Union(ST_Buffer(geom, 15)) AS zone FROM {s}.roads),
                     b AS (SELECT a.area_id,
                                  ST_Difference(ST_Boundary(a.geom), ST_Buffer(u.edge, 1)) AS line
                           FROM {s}.areas a, u)
                SELECT b.area_id, ST_Length(ST_Intersection(b.line, r.zone)) /
                       NULLIF(ST_Length(b.line), 0),
                       ST_Length(ST_Difference(b.line, r.zone))
                FROM b, r"""
        )
    return sql


def run_postgis(engine: Any, schema: str, statements: list[str]) -> int:
    """Run the SQL; return the number of rows produced."""
    from sqlalchemy import text

    rows = 0
    with engine.connect() as con:
        for stmt in statements:
            rows += len(con.execute(text(stmt)).fetchall())
    return rows


def drop_schema(engine: Any, schema: str) -> None:
    from sqlalchemy import text

    with engine.begin() as con:
        con.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


# --------------------------------------------------------------------------- maup


def run_maup(areas: gpd.GeoDataFrame) -> tuple[bool, int]:
    """maup's gap/overlap doctor and rook adjacencies on the same areas."""
    import maup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        healthy = bool(maup.doctor(areas, silent=True))
        adj = maup.adjacencies(areas.geometry, warn_for_islands=False, warn_for_overlaps=False)
    return healthy, len(adj)


# --------------------------------------------------------------------------- main


def compare(inst: Instance, *, repeat: int, db: str | None, use_maup: bool) -> dict[str, float]:
    """Time gridplan, PostGIS SQL and maup on one instance and print the figures."""
    ours, report = best_of(lambda: run_gridplan(inst), repeat)
    print(f"\n== {inst.name}")
    print(f"  dissolve units → areas (shapely coverage union): {inst.dissolve_seconds:8.3f} s")
    print(f"  gridplan check_areas (all rules):                 {ours:8.3f} s  "
          f"findings {report.by_rule()}")  # fmt: skip
    slivers = {k: v for k, v in report.ignored_slivers.items() if v}
    if slivers:
        print(f"    slivers ignored {slivers}")
    share = report.areas["road_boundary_share"]
    if share.notna().any():
        print(f"    mean road_boundary_share {share.mean():.3f}")
    out = {"gridplan": ours}
    if db:
        from sqlalchemy import create_engine

        engine = create_engine(db)
        schema = f"bench_check_{uuid.uuid4().hex[:10]}"
        try:
            cov = postgis_has_coverage_functions(engine)
            load = load_postgis(engine, schema, inst)
            sql = postgis_sql(schema, inst.roads is not None, cov)
            theirs, rows = best_of(lambda: run_postgis(engine, schema, sql), repeat)
            print(f"  PostGIS SQL (load {load:.2f} s not counted):       {theirs:8.3f} s  "
                  f"({'ST_CoverageInvalidEdges' if cov else 'ST_Union/ST_Difference'}, "
                  f"{rows} rows)  ratio PostGIS/gridplan {theirs / ours:6.1f}×")  # fmt: skip
            out["postgis"] = theirs
        finally:
            drop_schema(engine, schema)
            engine.dispose()
    if use_maup:
        theirs, (healthy, n_adj) = best_of(lambda: run_maup(inst.areas), repeat)
        print(f"  maup doctor + adjacencies:                        {theirs:8.3f} s  "
              f"(healthy={healthy}, {n_adj} adjacent pairs)  "
              f"ratio maup/gridplan {theirs / ours:6.1f}×")  # fmt: skip
        out["maup"] = theirs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="lattice side (units per side)")
    parser.add_argument("--areas", type=int, default=100, help="areas in the lattice city")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument("--no-providence", action="store_true")
    args = parser.parse_args()
    db = None if args.no_postgis else args.db
    if not args.no_providence:
        compare(providence_instance(), repeat=args.repeat, db=db, use_maup=True)
    lattice = lattice_instance(args.side, args.areas)
    result = compare(lattice, repeat=args.repeat, db=db, use_maup=False)
    verdict = "under" if result["gridplan"] < 5.0 else "OVER"
    print(f"\n10,000-unit target: {result['gridplan']:.2f} s ({verdict} 5 s)")
    compare(redrawn(lattice), repeat=args.repeat, db=db, use_maup=False)
    units_as_areas = Instance(
        f"lattice {args.side * args.side:,} units checked as {args.side * args.side:,} grids",
        lattice.units,
        lattice.units.drop(columns=["group"]).rename(columns={"unit_id": "area_id"}),
        lattice.roads,
        "grid",
        0.0,
    )
    compare(units_as_areas, repeat=1, db=db, use_maup=False)


if __name__ == "__main__":
    main()
