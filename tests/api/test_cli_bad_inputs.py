"""One validation for every entry point: a corpus of bad files, generated here, run through
``import``, ``assign``, ``check``, ``partition``, ``grids`` and ``map``.

Each file is eight 100 m units (two rows of four, 150 households each, WGS84 near Jinjiang)
with one feature spoiled. Every entry point refuses it with exit status 2 and one line naming
the feature (never a traceback), except the bow-tie, which is repaired (a note on stderr).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import Polygon, box
from typer.testing import CliRunner

from gridplan.api.cli import app

UTM = "EPSG:32650"
X0, Y0 = 660_000.0, 2_744_000.0
BAD = "u12"  # the spoiled feature (second row, third column)
runner = CliRunner()


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"u{r}{c}" for r in range(2) for c in range(4)], "households": [150.0] * 8},
        geometry=[box(X0 + c * 100, Y0 + r * 100, X0 + c * 100 + 100, Y0 + r * 100 + 100)
                  for r in range(2) for c in range(4)],
        crs=UTM,
    ).to_crs(4326)  # fmt: skip


def _spoil_geometry(
    make: Callable[[Polygon], shapely.Geometry],
) -> Callable[[gpd.GeoDataFrame], None]:
    def spoil(gdf: gpd.GeoDataFrame) -> None:
        at = gdf.index[gdf["id"] == BAD][0]
        gdf.loc[at, "geometry"] = make(gdf.geometry[at])

    return spoil


def _bow_tie(cell: Polygon) -> Polygon:
    x0, y0, x1, y1 = cell.bounds
    return Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def _hole_outside(cell: Polygon) -> Polygon:
    x0, y0, x1, y1 = cell.bounds
    w = x1 - x0
    hole = [(x1 + w, y0), (x1 + 2 * w, y0), (x1 + 2 * w, y1), (x1 + w, y1)]
    return Polygon(cell.exterior.coords, [hole])


def _zero_area(cell: Polygon) -> Polygon:
    x0, y0, x1, _ = cell.bounds
    return Polygon([(x0, y0), (x1, y0), ((x0 + x1) / 2, y0), (x0, y0)])


def _off_globe(cell: Polygon) -> Polygon:
    return shapely.affinity.translate(cell, xoff=200.0)


def _nan(cell: Polygon) -> Polygon:
    coords = np.asarray(cell.exterior.coords)
    coords[1] = np.nan
    return Polygon(coords)


def _negative(gdf: gpd.GeoDataFrame) -> None:
    gdf.loc[gdf["id"] == BAD, "households"] = -5.0


def _nul(gdf: gpd.GeoDataFrame) -> None:
    gdf.loc[gdf["id"] == BAD, "id"] = "u1\x002"


def _metres(gdf: gpd.GeoDataFrame) -> None:
    """Every unit in UTM metres, but the file says EPSG:4326."""
    metres = np.asarray(gdf.to_crs(UTM).geometry.values, dtype=object)
    gdf["geometry"] = gpd.GeoSeries(metres, index=gdf.index, crs=4326)


#: name -> (how the file is spoiled, what the one line says, or None: repaired, success)
CORPUS: dict[str, tuple[Callable[[gpd.GeoDataFrame], None], str | None]] = {
    "negative_households": (_negative, "negative households (-5)"),
    "bow_tie": (_spoil_geometry(_bow_tie), None),
    "hole_outside_shell": (_spoil_geometry(_hole_outside), "invalid geometry"),
    "zero_area": (_spoil_geometry(_zero_area), "invalid geometry"),
    "off_globe": (_spoil_geometry(_off_globe), "outside the area of use"),
    "nan_coordinates": (_spoil_geometry(_nan), "Invalid Coordinate"),
    "empty_geometry": (_spoil_geometry(lambda _: Polygon()), "empty geometry"),
    "nul_in_id": (_nul, "NUL byte"),
    "metres_as_4326": (_metres, "outside the area of use of EPSG:4326"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bad files (GeoPackages), the good areas and compounds (GeoJSON)."""
    root = tmp_path_factory.mktemp("bad")
    files: dict[str, Path] = {}
    for name, (spoil, _) in CORPUS.items():
        gdf = _units()
        spoil(gdf)
        if name == "nul_in_id":  # GDAL cuts text at a NUL: a CSV (WKT polygons) keeps it
            path = root / f"{name}.csv"
            gdf.assign(wkt=gdf.geometry.to_wkt()).drop(columns="geometry").to_csv(path, index=False)
        else:
            path = root / f"{name}.gpkg"
            gdf.to_file(path)
        files[name] = path
    good = root / "areas.geojson"
    units = _units()
    gpd.GeoDataFrame(
        {"area_id": ["A", "B"]},
        geometry=[units.iloc[[0, 1, 4, 5]].union_all(), units.iloc[[2, 3, 6, 7]].union_all()],
        crs=4326,
    ).to_file(good)
    files["areas"] = good
    points = root / "compounds.geojson"
    gpd.GeoDataFrame(
        {"id": units["id"], "households": units["households"]},
        geometry=units.geometry.representative_point(),
        crs=4326,
    ).to_file(points)
    files["compounds"] = points
    return files


def _entry(name: str, bad: Path, files: dict[str, Path], tmp: Path) -> list[str]:
    """The command line of entry point ``name`` reading ``bad`` as its polygon file."""
    band = ["--band", "250", "350"]
    return {
        "import": ["import", str(bad), "--kind", "areas", "--db", str(tmp / "store.gpkg")],
        "assign": ["assign", "--compounds", str(files["compounds"]), "--areas", str(bad),
                   "--out", str(tmp / "assigned.csv")],
        "check": ["check", "--areas", str(bad), "--band", "50", "700"],
        "partition": ["partition", "--units", str(bad), *band, "--out", str(tmp / "plan.gpkg")],
        "grids": ["grids", "--areas", str(files["areas"]), "--units", str(bad), *band,
                  "--out", str(tmp / "grids.gpkg")],
        "map": ["map", "--areas", str(bad), "--out", str(tmp / "map.html")],
    }[name]  # fmt: skip


ENTRY_POINTS = ("import", "assign", "check", "partition", "grids", "map")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("case", list(CORPUS))
def test_every_entry_point_refuses_or_repairs(
    corpus: dict[str, Path], tmp_path: Path, entry: str, case: str
) -> None:
    result = runner.invoke(app, _entry(entry, corpus[case], corpus, tmp_path))
    expected = CORPUS[case][1]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if expected is None:
        assert result.exit_code == 0, result.output
        if entry != "import":
            assert f"note: {Path(corpus[case]).name} feature {BAD}: repaired invalid geometry" in (
                result.stderr
            ), result.stderr
        return
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    shown = {"nul_in_id": "u1\\02", "metres_as_4326": "u00"}.get(case, BAD)
    assert f"feature {shown}:" in lines[0], lines[0]
    assert expected in lines[0], lines[0]


def test_swapped_latitude_longitude_is_named(corpus: dict[str, Path], tmp_path: Path) -> None:
    """Latitude given as x and longitude as y, labelled EPSG:4326: the message says swapped."""
    gdf = _units()
    gdf["geometry"] = gdf.geometry.map(lambda g: shapely.ops.transform(lambda x, y: (y, x), g))
    path = tmp_path / "swapped.geojson"
    gdf.to_file(path)
    for entry in ("import", "partition"):
        result = runner.invoke(app, _entry(entry, path, corpus, tmp_path))
        assert result.exit_code == 2, result.output
        assert "look swapped" in result.stderr, result.stderr


def test_the_store_is_byte_identical_after_every_refusal(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    """A store holding a good import, then every refused file imported into it: not one byte
    of the store changes, and no temporary file is left beside it."""
    import hashlib

    store = tmp_path / "kept.gpkg"
    good = runner.invoke(
        app, ["import", str(corpus["areas"]), "--kind", "areas", "--db", str(store)]
    )
    assert good.exit_code == 0, good.output
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    listing = sorted(p.name for p in tmp_path.iterdir())
    refused = [case for case, (_, expected) in CORPUS.items() if expected is not None]
    assert len(refused) >= 8
    for case in refused:
        cmd = ["import", str(corpus[case]), "--kind", "areas", "--db", str(store)]
        result = runner.invoke(app, cmd)
        assert result.exit_code == 2, (case, result.output)
        assert hashlib.sha256(store.read_bytes()).hexdigest() == before, case
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


@pytest.mark.parametrize("entry", ["assign", "check"])
def test_a_gbk_csv_reads_with_encoding_on_every_command(tmp_path: Path, entry: str) -> None:
    """The message without ``--encoding`` names the option, and the option exists on every
    command that reads files (it was on ``import`` only)."""
    areas = tmp_path / "areas.geojson"
    gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "name": ["青新社区", "锦青社区"]},
        geometry=[box(118.5, 24.7, 118.51, 24.71), box(118.51, 24.7, 118.52, 24.71)],
        crs=4326,
    ).to_file(areas)
    csv = tmp_path / "compounds.csv"
    csv.write_bytes(
        "compound_id,name,households,lon,lat\nc1,银星花园,300,118.505,24.705\n"
        "c2,新世纪豪园,200,118.515,24.705\n".encode("gbk")
    )
    args = {
        "assign": ["assign", "--compounds", str(csv), "--areas", str(areas), "--out",
                   str(tmp_path / "o.csv")],
        "check": ["check", "--areas", str(areas), "--compounds", str(csv)],
    }[entry]  # fmt: skip
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "--encoding" in refused.stderr and "Traceback" not in refused.output
    ok = runner.invoke(app, [*args, "--encoding", "gbk"])
    assert ok.exit_code in (0, 1), ok.output  # check exits 1 when it finds problems
    assert "not utf-8" not in ok.output
    if entry == "assign":
        assert "银星花园" in (tmp_path / "o.csv").read_text(encoding="utf-8")
