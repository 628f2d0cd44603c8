"""Benchmark: the ``gridplan`` command line as whole processes (cold start included).

Two comparisons, each timed side by side in one run: the processes are interleaved (one of
each per round, ``--repeat`` rounds) so machine load hits both alike, and the medians are
printed with their ratio.

1. ``gridplan --help`` against ``python -c pass`` (the interpreter's own start-up). Target of
   issue 11: ``gridplan --help`` within 0.3 s.
2. ``gridplan assign --compounds BLOCKS --areas TRACTS --out OUT.gpkg`` against a Python
   process that reads the same two files (geopandas with pyogrio), runs ``maup.assign`` and
   writes the blocks with their tract to a GeoPackage: the whole job a user would script
   with maup. Issue 11 asks for 10,000 blocks; Providence has 3,014 census blocks, so the
   instance is Providence's blocks *tiled*: copies of the city side by side (each shifted
   east by the city's width plus 1 km, in UTM 19N), the last copy cut to reach ``--units``
   blocks, every copy's tracts renamed (``TRACTCE10`` + ``-1``, ``-2``, …; the tracts are the
   tiled blocks dissolved by that code). Both files are written in UTM 19N (EPSG:32619), so
   neither side reprojects its input; gridplan writes its output in EPSG:4326 (its file
   contract), maup's script writes the input CRS. Both answers are checked against the tract
   code of every block. gridplan runs with its default threads and with ``--workers 1``
   (maup is single-threaded).

Every process runs with a private bytecode cache (``PYTHONPYCACHEPREFIX`` in a temporary
folder, ``PYTHONDONTWRITEBYTECODE`` unset), filled by one untimed warm-up round: an installed
gridplan has its ``.pyc`` files, and a source checkout run with ``PYTHONDONTWRITEBYTECODE=1``
would otherwise recompile gridplan's modules on every start while the peer's libraries (in
site-packages) are compiled already.

Run: ``.venv/bin/python tests/benchmarks/bench_cli.py [--repeat 7] [--units 10000]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)

#: The peer: read + ``maup.assign`` + write, as one would script it (argv: blocks tracts out).
MAUP_SCRIPT = """\
import sys, warnings
import geopandas as gpd
import maup
blocks = gpd.read_file(sys.argv[1], engine="pyogrio")
tracts = gpd.read_file(sys.argv[2], engine="pyogrio")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    index = maup.assign(blocks, tracts)
blocks["area_id"] = tracts["TRACTCE10"].reindex(index.to_numpy()).to_numpy()
blocks.to_file(sys.argv[3], driver="GPKG", engine="pyogrio")
"""


def gridplan_executable() -> str:
    """The ``gridplan`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("gridplan")
    if beside.exists():
        return str(beside)
    found = shutil.which("gridplan")
    if found is None:
        raise SystemExit("no gridplan executable next to this Python or on PATH")
    return found


def tiled_blocks(units: int) -> gpd.GeoDataFrame:
    """``units`` Providence blocks in UTM 19N: the city tiled eastwards as often as needed.

    Copy ``i`` (from 0) is shifted ``i`` × (the city's width + 1 km) east; its ``GEOID10`` and
    ``TRACTCE10`` get the suffix ``-i``, so tracts never span two copies.
    """
    city = gpd.read_file(PROVIDENCE, engine="pyogrio").to_crs(32619)
    city = city[["GEOID10", "TRACTCE10", "TOTPOP", "geometry"]]
    minx, _, maxx, _ = city.total_bounds
    step = (maxx - minx) + 1000.0
    copies = []
    for i in range(-(-units // len(city))):
        tile = city.copy()
        tile["GEOID10"] = tile["GEOID10"] + f"-{i}"
        tile["TRACTCE10"] = tile["TRACTCE10"] + f"-{i}"
        tile["geometry"] = shapely.transform(
            tile.geometry.to_numpy(), lambda xy, dx=i * step: xy + np.array([dx, 0.0])
        )
        copies.append(tile)
    blocks = pd.concat(copies, ignore_index=True).iloc[:units].reset_index(drop=True)
    return gpd.GeoDataFrame(blocks, geometry="geometry", crs=city.crs)


def write_inputs(units: int, folder: Path) -> tuple[Path, Path, gpd.GeoDataFrame, int]:
    """Write the tiled blocks and their tracts (blocks dissolved by ``TRACTCE10``) as
    GeoPackages in ``folder``; return both paths, the blocks and the number of tracts."""
    blocks = tiled_blocks(units)
    tracts = blocks.dissolve("TRACTCE10").reset_index()[["TRACTCE10", "geometry"]]
    blocks_path, tracts_path = folder / "blocks.gpkg", folder / "tracts.gpkg"
    blocks.to_file(blocks_path, driver="GPKG", engine="pyogrio")
    tracts.to_file(tracts_path, driver="GPKG", engine="pyogrio")
    return blocks_path, tracts_path, blocks, len(tracts)


def median_times(
    commands: Mapping[str, Sequence[str]], repeat: int, *, timeout: float = 600.0
) -> dict[str, float]:
    """Median wall time (s) of each command as a whole process: one untimed warm-up round,
    then ``repeat`` rounds, one run of each command per round, in turn (module docstring: the
    bytecode cache). A failing command stops the benchmark with its stderr."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="bench_cli_pyc_") as pyc:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pyc
        for round_ in range(repeat + 1):
            for name, argv in commands.items():
                start = time.perf_counter()
                done = subprocess.run(
                    argv, capture_output=True, timeout=timeout, check=False, env=env
                )
                elapsed = time.perf_counter() - start
                if done.returncode != 0:
                    raise RuntimeError(
                        f"{name} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
                    )
                if round_ > 0:
                    times[name].append(elapsed)
    return {name: statistics.median(t) for name, t in times.items()}


def compare_help(repeat: int) -> dict[str, float]:
    """``gridplan --help`` and ``--version`` against ``python -c pass``: medians (s)."""
    return median_times(
        {
            "help_s": [gridplan_executable(), "--help"],
            "version_s": [gridplan_executable(), "--version"],
            "python_s": [sys.executable, "-c", "pass"],
        },
        repeat,
    )


def _agreement(out: Path, truth: pd.Series) -> float:
    """Share of blocks whose ``area_id`` in ``out`` is their own tract (blocks found by
    ``GEOID10``, or by gridplan's ``compound_id`` where the file has no ``GEOID10``)."""
    written = gpd.read_file(out, engine="pyogrio", ignore_geometry=True)
    id_field = "GEOID10" if "GEOID10" in written.columns else "compound_id"
    got = pd.Series(written["area_id"].to_numpy(), index=written[id_field].astype(str))
    return float((got.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def compare_assign(units: int, repeat: int) -> dict[str, float]:
    """Whole-process ``gridplan assign`` (default threads and one thread) against read +
    ``maup.assign`` + write on ``units`` tiled Providence blocks: medians (s), ratios and
    agreement with the blocks' own tracts."""
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        folder = Path(tmp)
        blocks_path, tracts_path, blocks, n_tracts = write_inputs(units, folder)
        outs = {name: folder / f"{name}.gpkg" for name in ("ours", "ours_1", "maup")}
        ours = [
            gridplan_executable(), "assign",
            "--compounds", str(blocks_path), "--areas", str(tracts_path),
            "--compound-id-field", "GEOID10", "--area-id-field", "TRACTCE10",
            "--format", "json",
        ]  # fmt: skip
        peer = [sys.executable, "-c", MAUP_SCRIPT, str(blocks_path), str(tracts_path)]
        times = median_times(
            {
                "gridplan_s": [*ours, "--out", str(outs["ours"])],
                "gridplan_1_s": [*ours, "--workers", "1", "--out", str(outs["ours_1"])],
                "maup_s": [*peer, str(outs["maup"])],
            },
            repeat,
        )
        truth = pd.Series(blocks["TRACTCE10"].to_numpy(), index=blocks["GEOID10"])
        agree = {
            "gridplan_agree": _agreement(outs["ours"], truth),
            "gridplan_1_agree": _agreement(outs["ours_1"], truth),
            "maup_agree": _agreement(outs["maup"], truth),
        }
    return {
        "blocks": float(units),
        "tracts": float(n_tracts),
        "copies": float(blocks["GEOID10"].str.rsplit("-", n=1).str[1].nunique()),
        **times,
        "ratio": times["maup_s"] / times["gridplan_s"],
        "ratio_1": times["maup_s"] / times["gridplan_1_s"],
        **agree,
    }


def report_help(r: Mapping[str, float], repeat: int) -> None:
    """Print the start-up comparison."""
    print(f"Start-up, whole processes (median of {repeat}, interleaved)")
    print(f"  gridplan --help:    {r['help_s'] * 1000:7.0f} ms  (target <= 300 ms)")
    print(f"  gridplan --version: {r['version_s'] * 1000:7.0f} ms")
    print(f"  python -c pass:     {r['python_s'] * 1000:7.0f} ms")
    print(f"  ratio gridplan --help / python -c pass: {r['help_s'] / r['python_s']:5.1f}x")


def report_assign(r: Mapping[str, float], repeat: int) -> None:
    """Print the assign comparison."""
    print(
        f"assign, whole processes: {r['blocks']:.0f} blocks = Providence's 3,014 census blocks "
        f"tiled in {r['copies']:.0f} copies side by side (the last one cut) -> "
        f"{r['tracts']:.0f} tracts, UTM 19N GeoPackages (median of {repeat}, interleaved)"
    )
    print(
        f"  gridplan assign (default threads): {r['gridplan_s']:6.2f} s"
        f"  (own tract: {r['gridplan_agree']:.1%})"
    )
    print(
        f"  gridplan assign --workers 1:       {r['gridplan_1_s']:6.2f} s"
        f"  (own tract: {r['gridplan_1_agree']:.1%})"
    )
    print(
        f"  read + maup.assign + write:        {r['maup_s']:6.2f} s"
        f"  (own tract: {r['maup_agree']:.1%})"
    )
    print(f"  ratio maup / gridplan (default threads): {r['ratio']:5.2f}x")
    print(f"  ratio maup / gridplan (1 thread):        {r['ratio_1']:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--units", type=int, default=10_000)
    args = parser.parse_args()
    report_help(compare_help(args.repeat), args.repeat)
    report_assign(compare_assign(args.units, args.repeat), args.repeat)


if __name__ == "__main__":
    main()
