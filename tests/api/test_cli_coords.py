"""``--coords`` on the commands: GCJ-02 / BD-09 files land where their WGS84 twins do, and
outputs go back in the frame (and CRS) they came in."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box
from typer.testing import CliRunner

from gridplan.api.cli import app
from gridplan.data.crs import to_bd09, to_gcj02, wgs84_to_bd09, wgs84_to_gcj02

UTM = "EPSG:32650"  # UTM 50N: Jinjiang, Fujian, where GCJ-02 moves points ~450 m E, ~330 m S
X0, Y0 = 660_000.0, 2_744_000.0
runner = CliRunner()


def _communities() -> gpd.GeoDataFrame:
    """Six 400 m communities in WGS84, three across and two down::

    +----+----+----+
    | C4 | C5 | C6 |
    +----+----+----+
    | C1 | C2 | C3 |
    +----+----+----+
    """
    cells = [(c, r) for r in range(2) for c in range(3)]
    return gpd.GeoDataFrame(
        {"cid": [f"C{i + 1}" for i in range(6)]},
        geometry=[
            box(X0 + c * 400, Y0 + r * 400, X0 + c * 400 + 400, Y0 + r * 400 + 400)
            for c, r in cells
        ],
        crs=UTM,
    ).to_crs(4326)


def _compounds_wgs84() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One compound point 150 m inside the south-west corner of each community (WGS84)."""
    cells = [(c, r) for r in range(2) for c in range(3)]
    pts = gpd.GeoSeries(
        [shapely.Point(X0 + c * 400 + 150, Y0 + r * 400 + 250) for c, r in cells], crs=UTM
    ).to_crs(4326)
    return pts.x.to_numpy(), pts.y.to_numpy(), [f"C{i + 1}" for i in range(6)]


def _gcj_csv(tmp_path: Path, frame: str = "gcj02") -> tuple[Path, list[str], np.ndarray]:
    """The compounds as a CSV of GCJ-02 (or BD-09) lon/lat, as copied from Gaode (Baidu)."""
    lon, lat, truth = _compounds_wgs84()
    x, y = wgs84_to_gcj02(lon, lat) if frame == "gcj02" else wgs84_to_bd09(lon, lat)
    path = tmp_path / f"compounds_{frame}.csv"
    pd.DataFrame(
        {"xq": [f"K{i + 1}" for i in range(6)], "户数": [100] * 6, "lng": x, "lat": y}
    ).to_csv(path, index=False)
    return path, truth, np.column_stack([x, y])


def _assign(compounds: Path, areas: Path, out: Path, *options: str) -> dict:
    result = runner.invoke(
        app,
        ["assign", "--compounds", str(compounds), "--areas", str(areas), "--compound-id-field",
         "xq", "--area-id-field", "cid", *options, "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _by_compound(out: Path) -> dict[str, str]:
    table = pd.read_csv(out)
    return dict(zip(table["xq"], table["area_id"], strict=True))


def test_gcj02_compounds_without_coords_go_wrong(tmp_path: Path) -> None:
    """The defect: read as WGS84, GCJ-02 points sit ~560 m off and miss their communities."""
    comps, truth, _ = _gcj_csv(tmp_path)
    areas = tmp_path / "communities.geojson"
    _communities().to_file(areas)
    _assign(comps, areas, tmp_path / "plain.csv")
    got = _by_compound(tmp_path / "plain.csv")
    wrong = [k for k, want in zip(got, truth, strict=True) if got[k] != want]
    assert len(wrong) >= 3


@pytest.mark.parametrize("frame", ["gcj02", "bd09"])
def test_assign_coords_puts_every_compound_right(tmp_path: Path, frame: str) -> None:
    """A GCJ-02 (BD-09) CSV of compounds against WGS84 communities: ``--coords
    compounds=FRAME``; the output comes back in the compounds' frame."""
    comps, truth, given = _gcj_csv(tmp_path, frame)
    areas = tmp_path / "communities.geojson"
    _communities().to_file(areas)
    out = tmp_path / "assigned.csv"
    summary = _assign(comps, areas, out, "--coords", f"compounds={frame}")
    assert summary["flagged"] == []
    got = _by_compound(out)
    assert list(got.values()) == truth
    # the answer is in the frame the compounds came in: the same coordinates
    back = shapely.from_wkt(pd.read_csv(out)["geometry"].to_numpy())
    assert np.allclose(shapely.get_coordinates(back), given, atol=1e-9)
    # --out-coords wgs84 gives the true positions instead
    out_wgs = tmp_path / "assigned-wgs84.csv"
    _assign(comps, areas, out_wgs, "--coords", f"compounds={frame}", "--out-coords", "wgs84")
    lon, lat, _ = _compounds_wgs84()
    wgs = shapely.get_coordinates(shapely.from_wkt(pd.read_csv(out_wgs)["geometry"].to_numpy()))
    assert np.allclose(wgs, np.column_stack([lon, lat]), atol=1e-8)


def test_assign_every_file_in_gcj02(tmp_path: Path) -> None:
    """Communities and compounds both drawn on Gaode: ``--coords gcj02`` converts both, and
    the output GeoPackage is GCJ-02 again."""
    comps, truth, given = _gcj_csv(tmp_path)
    areas = tmp_path / "communities_gcj.gpkg"
    to_gcj02(_communities()).to_file(areas)
    out = tmp_path / "assigned.gpkg"
    _assign(comps, areas, out, "--coords", "gcj02")
    written = gpd.read_file(out)
    assert written["area_id"].tolist() == truth
    assert np.allclose(shapely.get_coordinates(written.geometry.values), given, atol=1e-9)


def test_check_and_map_read_gcj02(tmp_path: Path) -> None:
    """``check --coords compounds=gcj02``: the compounds are inside their communities (no
    compound.split, nothing unassigned); ``map`` takes the same option."""
    comps, _, _ = _gcj_csv(tmp_path)
    areas = tmp_path / "communities.geojson"
    _communities().to_file(areas)
    base = ["check", "--areas", str(areas), "--id-field", "cid", "--compounds", str(comps),
            "--band", "50", "150", "--format", "json"]  # fmt: skip
    right = runner.invoke(app, [*base, "--coords", "compounds=gcj02"])
    assert right.exit_code == 0, right.output
    doc = json.loads(right.stdout)
    households = {a["id"]: a["households"] for a in doc["areas"]}
    assert households == {f"C{i + 1}": 100.0 for i in range(6)}
    assert doc["summary"]["findings"] == 0
    wrong = json.loads(runner.invoke(app, base).stdout)  # read as WGS84: 4 compounds outside
    assert wrong["summary"]["by_rule"].get("compound.unassigned", 0) > 0
    html = tmp_path / "map.html"
    drawn = runner.invoke(
        app, ["map", "--areas", str(areas), "--compounds", str(comps), "--coords",
              "compounds=gcj02", "--out", str(html), "--format", "json"],
    )  # fmt: skip
    assert drawn.exit_code == 0, drawn.output
    assert html.stat().st_size > 0


def test_bad_coords_are_one_line_errors(tmp_path: Path) -> None:
    comps, _, _ = _gcj_csv(tmp_path)
    areas = tmp_path / "communities.geojson"
    _communities().to_file(areas)
    for option, fragment in (
        ("mars", "expected one of wgs84, gcj02, bd09"),
        ("outline=gcj02", "'outline' is not an input of this command"),
    ):
        result = runner.invoke(
            app, ["assign", "--compounds", str(comps), "--areas", str(areas), "--coords",
                  option, "--out", str(tmp_path / "x.csv")],
        )  # fmt: skip
        assert result.exit_code == 2
        assert fragment in result.output
        assert "Traceback" not in result.output


def _units(crs: str | int) -> gpd.GeoDataFrame:
    """Eight 100 m units of 150 households, two rows of four (as in test_cli_grids)."""
    return gpd.GeoDataFrame(
        {"uid": [f"u{r}{c}" for r in range(2) for c in range(4)], "hh": [150.0] * 8},
        geometry=[box(X0 + c * 100, Y0 + r * 100, X0 + c * 100 + 100, Y0 + r * 100 + 100)
                  for r in range(2) for c in range(4)],
        crs=UTM,
    ).to_crs(crs)  # fmt: skip


def _partition(units: Path, out: Path, *options: str) -> None:
    result = runner.invoke(
        app,
        ["partition", "--units", str(units), "--unit-id-field", "uid", "--households-field",
         "hh", "--band", "250", "350", *options, "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_partition_cgcs2000_in_cgcs2000_out(tmp_path: Path) -> None:
    units = tmp_path / "units_4490.gpkg"
    _units(4490).to_file(units)
    for suffix in (".gpkg", ".shp", ".parquet"):
        out = tmp_path / f"plan{suffix}"
        _partition(units, out)
        if suffix == ".gpkg":
            layers = [gpd.read_file(out, layer=n) for n in ("communities", "units")]
        elif suffix == ".shp":
            layers = [gpd.read_file(out), gpd.read_file(tmp_path / "plan-units.shp")]
        else:
            layers = [gpd.read_parquet(out), gpd.read_parquet(tmp_path / "plan-units.parquet")]
        assert [layer.crs.to_epsg() for layer in layers] == [4490, 4490], suffix
        assert len(layers[0]) == 4


def test_grids_cgcs2000_in_cgcs2000_out(tmp_path: Path) -> None:
    units = tmp_path / "units_4490.gpkg"
    _units(4490).to_file(units)
    areas = tmp_path / "areas_4490.gpkg"
    gpd.GeoDataFrame(
        {"area_id": ["A", "B"]},
        geometry=[box(X0, Y0, X0 + 200, Y0 + 200), box(X0 + 200, Y0, X0 + 400, Y0 + 200)],
        crs=UTM,
    ).to_crs(4490).to_file(areas)
    out = tmp_path / "grids.gpkg"
    result = runner.invoke(
        app,
        ["grids", "--areas", str(areas), "--units", str(units), "--unit-id-field", "uid",
         "--households-field", "hh", "--band", "250", "350", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("grids", "communities"):
        assert gpd.read_file(out, layer=name).crs.to_epsg() == 4490


@pytest.mark.parametrize("frame", ["gcj02", "bd09"])
def test_partition_and_grids_answer_in_the_input_frame(tmp_path: Path, frame: str) -> None:
    """GCJ-02 (BD-09) units in, GCJ-02 (BD-09) communities, units and grids out: the units
    come back where they were given, and the communities lie on them."""
    wgs = _units(4326)
    shifted = to_gcj02(wgs) if frame == "gcj02" else to_bd09(wgs)
    units = tmp_path / f"units_{frame}.geojson"
    shifted.to_file(units)
    out = tmp_path / "plan.gpkg"
    _partition(units, out, "--coords", frame)
    got_units = gpd.read_file(out, layer="units").sort_values("uid", ignore_index=True)
    given = shifted.sort_values("uid", ignore_index=True)
    for a, b in zip(got_units.geometry, given.geometry, strict=True):
        assert a.equals_exact(b, tolerance=1e-9)
    communities = gpd.read_file(out, layer="communities")
    whole = given.union_all()
    assert communities.union_all().symmetric_difference(whole).area < 1e-5 * whole.area
    grids_out = tmp_path / "grids.gpkg"
    result = runner.invoke(
        app,
        ["grids", "--areas", str(out), "--units", str(units), "--unit-id-field", "uid",
         "--households-field", "hh", "--band", "100", "200", "--coords", frame, "--out",
         str(grids_out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    grids = gpd.read_file(grids_out, layer="grids")
    assert len(grids) == 8
    assert grids.union_all().symmetric_difference(whole).area < 1e-5 * whole.area
    # --out-coords wgs84: the true positions
    plain = tmp_path / "plain.gpkg"
    _partition(units, plain, "--coords", frame, "--out-coords", "wgs84")
    true_units = gpd.read_file(plain, layer="units").sort_values("uid", ignore_index=True)
    for a, b in zip(true_units.geometry, wgs.geometry, strict=True):
        assert a.equals_exact(b, tolerance=1e-8)


def test_import_coords_and_gcj02_shorthand(tmp_path: Path) -> None:
    comps, _, _ = _gcj_csv(tmp_path, "bd09")
    lon, lat, _ = _compounds_wgs84()
    db = tmp_path / "store.gpkg"
    result = runner.invoke(
        app, ["import", str(comps), "--kind", "compounds", "--coords", "bd09", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    stored = gpd.read_file(db, layer="compounds").sort_values("compound_id", ignore_index=True)
    assert np.allclose(shapely.get_coordinates(stored.geometry.values),
                       np.column_stack([lon, lat]), atol=1e-8)  # fmt: skip
    clash = runner.invoke(
        app, ["import", str(comps), "--kind", "compounds", "--coords", "bd09", "--gcj02",
              "--db", str(tmp_path / "other.gpkg")],
    )  # fmt: skip
    assert clash.exit_code == 2 and "contradict" in clash.output
