"""Benchmark: gridplan's stores vs plain geopandas writes and reads of the same layers.

Input
-----
Real data from ../shared/data: the 3,014 Providence census blocks as ``units`` (households =
TOTPOP / 2.5) and the 567 Tallahassee TIGER roads as ``roads`` (id ``SegID``), both
normalised and validated first (not timed).

What is compared
----------------
* write: gridplan ``Store.import_layers`` (one transaction, id checks, extra columns kept as
  JSON, import record) vs geopandas writing the same two layers: ``GeoDataFrame.to_file``
  (pyogrio) into a GeoPackage and ``GeoDataFrame.to_postgis`` into PostGIS (no transaction
  across the layers, no id checks);
* read: gridplan ``Store.read_layer`` (schema columns, extras from JSON, sorted by id) vs
  ``geopandas.read_file`` / ``geopandas.read_postgis`` of the layers geopandas wrote.

Run: ``.venv/bin/python tests/benchmarks/bench_store.py [--repeat 3]
[--db postgresql+psycopg://postgres@localhost/gridplan_test] [--no-postgis]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import pyogrio
from sqlalchemy import create_engine, text

from gridplan.data.layers import LayerKind, normalise, validate
from gridplan.data.store.base import Store
from gridplan.data.store.geopackage import GeoPackageStore
from gridplan.data.store.postgis import PostGISStore

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEFAULT_DB = "postgresql+psycopg://postgres@localhost/gridplan_test"
Layers = Mapping[LayerKind, gpd.GeoDataFrame]


def real_layers() -> dict[LayerKind, gpd.GeoDataFrame]:
    """Providence blocks as units and Tallahassee roads, normalised and validated."""
    blocks = pyogrio.read_dataframe(SHARED / "providence" / "providence_blocks.gpkg")
    blocks["households"] = blocks["TOTPOP"] / 2.5
    units = normalise(
        "units",
        blocks,
        fields={"unit_id": "GEOID10", "households": "households", "residents": "TOTPOP"},
    )
    roads = pyogrio.read_dataframe(SHARED / "tallahassee" / "tallahassee.gpkg", layer="roads")
    roads = normalise("roads", roads, fields={"road_id": "SegID", "name": "FULLNAME"})
    out = {}
    for kind, frame in ((LayerKind.UNITS, units), (LayerKind.ROADS, roads)):
        valid, _ = validate(kind, frame)
        out[kind] = valid.to_crs(4326)
    return out


def gridplan_round(store: Store, layers: Layers) -> tuple[float, float]:
    """Seconds to import ``layers`` into ``store`` and to read them back."""
    t0 = time.perf_counter()
    store.import_layers(layers, source="bench", replace=True)
    t1 = time.perf_counter()
    for kind in layers:
        store.read_layer(kind)
    return t1 - t0, time.perf_counter() - t1


def geopandas_gpkg_round(layers: Layers, path: Path) -> tuple[float, float]:
    """Seconds for geopandas to write the layers to a GeoPackage and read them back."""
    t0 = time.perf_counter()
    for kind, frame in layers.items():
        frame.to_file(path, layer=kind.value, engine="pyogrio")
    t1 = time.perf_counter()
    for kind in layers:
        gpd.read_file(path, layer=kind.value, engine="pyogrio")
    return t1 - t0, time.perf_counter() - t1


def geopandas_postgis_round(layers: Layers, url: str, schema: str) -> tuple[float, float]:
    """Seconds for geopandas to write the layers to PostGIS and read them back."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        t0 = time.perf_counter()
        for kind, frame in layers.items():
            frame.to_postgis(kind.value, engine, schema=schema, if_exists="replace")
        t1 = time.perf_counter()
        for kind in layers:
            gpd.read_postgis(
                f'SELECT * FROM "{schema}"."{kind.value}"', engine, geom_col="geometry"
            )
        return t1 - t0, time.perf_counter() - t1
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(r[0] for r in runs), min(r[1] for r in runs)


def compare(layers: Layers, *, repeat: int = 3, db: str | None = DEFAULT_DB) -> dict[str, float]:
    """Best-of-``repeat`` write and read seconds for each contender.

    Returns
    -------
    dict
        Keys ``<who>.<write|read>`` with who in ``gridplan-gpkg``, ``geopandas-gpkg`` and,
        with ``db``, ``gridplan-postgis``, ``geopandas-postgis``.
    """
    times: dict[str, float] = {}
    runs: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            store = GeoPackageStore(Path(tmp) / f"gridplan-{i}.gpkg")
            store.initialise()
            runs.setdefault("gridplan-gpkg", []).append(gridplan_round(store, layers))
            runs.setdefault("geopandas-gpkg", []).append(
                geopandas_gpkg_round(layers, Path(tmp) / f"geopandas-{i}.gpkg")
            )
    if db is not None:
        for _ in range(repeat):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            pg = PostGISStore(db, schema=schema)
            pg.initialise()
            try:
                runs.setdefault("gridplan-postgis", []).append(gridplan_round(pg, layers))
            finally:
                pg.drop()
                pg.close()
            runs.setdefault("geopandas-postgis", []).append(
                geopandas_postgis_round(layers, db, f"bench_{uuid.uuid4().hex[:10]}")
            )
    for who, measured in runs.items():
        write, read = _best(measured)
        times[f"{who}.write"] = write
        times[f"{who}.read"] = read
    return times


def _report(times: Mapping[str, float], layers: Layers, say: Callable[[str], None] = print) -> None:
    sizes = ", ".join(f"{len(f)} {k.value}" for k, f in layers.items())
    say(f"layers: {sizes}")
    for target in ("gpkg", "postgis"):
        if f"gridplan-{target}.write" not in times:
            continue
        for step in ("write", "read"):
            ours = times[f"gridplan-{target}.{step}"]
            peer = times[f"geopandas-{target}.{step}"]
            say(
                f"{target:8s} {step:5s}  gridplan {ours:7.3f} s   geopandas {peer:7.3f} s   "
                f"ratio gridplan/geopandas {ours / peer:5.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    layers = real_layers()
    times = compare(layers, repeat=args.repeat, db=None if args.no_postgis else args.db)
    _report(times, layers)


if __name__ == "__main__":
    main()
