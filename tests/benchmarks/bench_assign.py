"""Benchmark: gridplan's compound assignment vs ``maup.assign``.

Instances: Providence's 3,014 census blocks (the "compounds") assigned to its 39 tracts (the
blocks dissolved by ``TRACTCE10``: the benchmark of issue 4), and to its 154 block groups.
Both tools get the same GeoDataFrames, in the same metric CRS (UTM 19N), prepared before
timing; each is timed as the best of ``--repeat`` interleaved runs, and both answers are
checked against the code of every block. gridplan runs twice: with its default threads
(GEOS releases the GIL; ``assign_compounds`` splits the areas between threads, at most the
usable cores) and with ``workers=1``, so the single-thread figure is printed too. Before
every timed run the GEOS indexes that an
earlier run left on the input geometries are dropped (``maup.assign`` prepares the target
polygons in place with ``shapely.prepared.prep``), so each run starts from the same cold input.

Run: ``.venv/bin/python tests/benchmarks/bench_assign.py [--repeat 15]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridplan.geo.assign import assign_compounds
from gridplan.geo.threads import default_workers

PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)


def load_inputs(
    limit: int | None = None, *, level: str = "tract"
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Blocks and their tracts (or block groups, ``level="blockgroup"``: first 12 characters
    of ``GEOID10``), both as dissolved blocks in UTM 19N; the target code is in the blocks'
    ``TRACTCE10`` column either way. ``limit`` keeps the first blocks."""
    blocks = gpd.read_file(PROVIDENCE).to_crs(32619)
    if limit is not None:
        blocks = blocks.iloc[:limit].reset_index(drop=True)
    if level == "blockgroup":
        blocks["TRACTCE10"] = blocks["GEOID10"].str[:12]
    tracts = blocks.dissolve("TRACTCE10").reset_index()[["TRACTCE10", "geometry"]]
    return blocks, tracts


def run_ours(
    blocks: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, workers: int | None = None
) -> pd.Series:
    """gridplan: tract code per block (``workers``: threads, ``None`` for the default)."""
    out = assign_compounds(
        blocks, tracts, compound_id_field="GEOID10", area_id_field="TRACTCE10", workers=workers
    )
    return out["area_id"]


def run_maup(blocks: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame) -> pd.Series:
    """maup.assign: tract code per block."""
    import maup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = maup.assign(blocks, tracts)
    return tracts["TRACTCE10"].reindex(index.to_numpy()).reset_index(drop=True)


def forget_prepared(*layers: gpd.GeoDataFrame) -> None:
    """Drop the prepared-geometry indexes cached on the layers' geometries by earlier runs."""
    for layer in layers:
        shapely.destroy_prepared(np.asarray(layer.geometry.values, dtype=object))


def best_of(func: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs and the last result."""
    times = []
    result: object = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare(blocks: gpd.GeoDataFrame, tracts: gpd.GeoDataFrame, repeat: int) -> dict[str, float]:
    """Time both tools (interleaved, best of ``repeat`` each, so machine load hits both alike;
    each run from unprepared input); return seconds, ratios and agreement with the codes.
    gridplan is timed with its default threads and with one thread."""
    ours_s, single_s, maup_s = float("inf"), float("inf"), float("inf")
    ours: object = None
    single: object = None
    theirs: object = None
    for _ in range(repeat):
        forget_prepared(blocks, tracts)
        t, ours = best_of(lambda: run_ours(blocks, tracts), 1)
        ours_s = min(ours_s, t)
        forget_prepared(blocks, tracts)
        t, single = best_of(lambda: run_ours(blocks, tracts, workers=1), 1)
        single_s = min(single_s, t)
        forget_prepared(blocks, tracts)
        t, theirs = best_of(lambda: run_maup(blocks, tracts), 1)
        maup_s = min(maup_s, t)
    truth = blocks["TRACTCE10"].to_numpy()
    return {
        "blocks": float(len(blocks)),
        "tracts": float(len(tracts)),
        "workers": float(default_workers()),
        "gridplan_s": ours_s,
        "gridplan_1_s": single_s,
        "maup_s": maup_s,
        "ratio": maup_s / ours_s if ours_s > 0 else float("inf"),
        "ratio_1": maup_s / single_s if single_s > 0 else float("inf"),
        "gridplan_agree": float(np.mean(np.asarray(ours) == truth)),
        "gridplan_1_agree": float(np.mean(np.asarray(single) == truth)),
        "maup_agree": float(np.mean(np.asarray(theirs) == truth)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    for level in ("tract", "blockgroup"):
        blocks, tracts = load_inputs(level=level)
        report(compare(blocks, tracts, args.repeat), level, args.repeat)


def report(r: dict[str, float], level: str, repeat: int) -> None:
    """Print one comparison."""
    what = "tracts" if level == "tract" else "block groups"
    print(f"Providence: {r['blocks']:.0f} blocks -> {r['tracts']:.0f} {what} (best of {repeat})")
    print(
        f"  gridplan assign_compounds ({r['workers']:.0f} threads): "
        f"{r['gridplan_s'] * 1000:8.1f} ms"
        f"  (agrees with the GEOID10 prefix: {r['gridplan_agree']:.1%})"
    )
    print(
        f"  gridplan assign_compounds (1 thread):  {r['gridplan_1_s'] * 1000:8.1f} ms"
        f"  (agrees with the GEOID10 prefix: {r['gridplan_1_agree']:.1%})"
    )
    print(
        f"  maup.assign (1 thread):                {r['maup_s'] * 1000:8.1f} ms"
        f"  (agrees with the GEOID10 prefix: {r['maup_agree']:.1%})"
    )
    print(f"  ratio maup / gridplan (default threads): {r['ratio']:6.1f}x")
    print(f"  ratio maup / gridplan (1 thread):        {r['ratio_1']:6.1f}x")


if __name__ == "__main__":
    main()
