"""Map test kit: a hand-drawn subdistrict, HTML parsing helpers, headless Chromium.

The tiny subdistrict (UTM 50N, metres; near Jinjiang, Fujian, so GCJ-02 applies)::

    y=1000 +-----------+-----------+
           | A 青新社区  | B 阳光社区  |      A: 1,200 households (in 1000–3000)
           | grid A-1  |           |      B: 3,500 households (over)
      500  +-----------+  grid B-1 |      C:   500 households (under)
           | grid A-2  |      *S   |      S: service centre at (1800, 500)
    y=0    +===========+===========+  <- road "local" along y=0 (x 0..2000)
           | C 锦青社区 (grid C-1)    |      road "primary" along x=1000 (y -1000..1000)
    y=-1000+-----------------------+
          x=0        x=1000      x=2000

Compounds: 新世纪豪园 (in A), 阳光时代广场 (in B), 孤楼 (outside every community).
Findings: one per rule id, each with a geometry (off-road stretch on C's south edge, an
exclave part, an embedded island, a gap, an overlap, a split compound, an unassigned compound
point, size.over on B, size.under on C).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely import LineString, Point, box

from gridplan.maps.inputs import MapLayers

CRS = "EPSG:32650"
X0, Y0 = 654_000.0, 2_745_000.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _b(x0: float, y0: float, x1: float, y1: float) -> Any:
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _p(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def _l(*pts: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def tiny_communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "area_id": ["A", "B", "C"],
            "name": ["青新社区", "阳光社区", "锦青社区"],
            "code": ["350582001004", "350582001015", "350582001005"],
            "households": [1200.0, 3500.0, 500.0],
            "residents": [3600.0, 10500.0, 1500.0],
            "road_boundary_share": [0.75, 0.5, 0.25],
        },
        geometry=[_b(0, 0, 1000, 1000), _b(1000, 0, 2000, 1000), _b(0, -1000, 2000, 0)],
        crs=CRS,
    )


def tiny_layers(**overrides: Any) -> MapLayers:
    grids = gpd.GeoDataFrame(
        {
            "area_id": ["A-1", "A-2", "B-1", "C-1"],
            "code": ["350582001004001", "350582001004002", "350582001015001", "350582001005001"],
            "name": ["网格一", "网格二", None, None],
            "parent_id": ["A", "A", "B", "C"],
            "households": [600.0, 600.0, 3500.0, 500.0],
        },
        geometry=[
            _b(0, 500, 1000, 1000),
            _b(0, 0, 1000, 500),
            _b(1000, 0, 2000, 1000),
            _b(0, -1000, 2000, 0),
        ],
        crs=CRS,
    )
    compounds = gpd.GeoDataFrame(
        {
            "compound_id": ["k1", "k2", "k3"],
            "name": ["新世纪豪园", "阳光时代广场", "孤楼"],
            "households": [300.0, 200.0, 10.0],
            "residents": [900.0, 600.0, 30.0],
            "kind": ["estate", "estate", "building"],
        },
        geometry=[_b(100, 100, 300, 300), _b(1200, 600, 1400, 800), _b(2500, 0, 2600, 100)],
        crs=CRS,
    )
    roads = gpd.GeoDataFrame(
        {"road_id": ["r1", "r2"], "road_class": ["local", "primary"], "name": ["青华路", None]},
        geometry=[_l((0, 0), (2000, 0)), _l((1000, -1000), (1000, 1000))],
        crs=CRS,
    )
    findings = gpd.GeoDataFrame(
        {
            "rule": [
                "roads.off_road",
                "enclave.exclave",
                "enclave.embedded",
                "coverage.gap",
                "coverage.overlap",
                "compound.split",
                "compound.unassigned",
                "size.over",
                "size.under",
            ],
            "severity": [
                *("warning", "error", "warning", "error", "error"),
                *("warning", "error", "warning", "warning"),
            ],
            "level": ["community"] * 9,
            "area_id": ["C", "A", "B", None, None, "A", None, "B", "C"],
            "value": [2000.0, 1.0, 1.0, 400.0, 100.0, 0.4, 10.0, 3500.0, 500.0],
            "message": [
                "2,000 m of boundary follows no road",
                "part 2 of 2",
                "island inside 阳光社区",
                "gap of 400 m²",
                "overlap of 100 m²",
                "新世纪豪园 is cut by a boundary",
                "孤楼 is in no community",
                "3,500 households > 3,000",
                "500 households < 1,000",
            ],
        },
        geometry=[
            _l((0, -1000), (2000, -1000)),
            _b(600, 600, 700, 700),
            _b(1500, 200, 1600, 300),
            _b(2000, 0, 2020, 20),
            _b(990, 500, 1010, 510),
            _b(100, 100, 300, 300),
            _p(2550, 50),
            _b(1000, 0, 2000, 1000),
            _b(0, -1000, 2000, 0),
        ],
        crs=CRS,
    )
    facilities = gpd.GeoDataFrame(
        {"facility_id": ["f1"], "kind": ["service_centre"], "name": ["阳光社区服务中心"]},
        geometry=[_p(1800, 500)],
        crs=CRS,
    )
    kwargs: dict[str, Any] = {
        "communities": tiny_communities(),
        "grids": grids,
        "compounds": compounds,
        "roads": roads,
        "findings": findings,
        "facilities": facilities,
        "title": "青阳街道 test plan",
    }
    kwargs.update(overrides)
    return MapLayers(**kwargs)


# --- HTML parsing ---------------------------------------------------------------------------


def overlay_names(html: str) -> dict[str, str]:
    """Layer-control overlay name -> JavaScript variable of the layer."""
    match = re.search(r"overlays\s*:\s*\{(.*?)\},\s*\};", html, re.S)
    assert match, "no layer control overlays in the page"
    pairs = re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*(\w+)', match.group(1))
    return {json.loads(f'"{name}"'): var for name, var in pairs}


def layer_data(html: str) -> dict[str, dict[str, Any]]:
    """JavaScript variable of each GeoJSON layer -> its embedded FeatureCollection."""
    out: dict[str, dict[str, Any]] = {}
    for var, payload in re.findall(r"\n\s*(geo_json_\w+)_add\((\{.*?\})\);\n", html):
        out[var] = json.loads(payload)
    return out


def features_of(html: str, prefix: str) -> list[dict[str, Any]]:
    """The features of the overlay whose name starts with ``prefix``."""
    names = overlay_names(html)
    data = layer_data(html)
    hits = [var for name, var in names.items() if name.startswith(prefix)]
    assert len(hits) == 1, f"{prefix!r} matches {[n for n in names]}"
    return list(data[hits[0]]["features"])


def shown_layers(html: str) -> set[str]:
    """JavaScript variables of the layers on the map when the page opens."""
    return set(re.findall(r"\n\s*(\w+)\.addTo\(map_\w+\);", html))


def layer_options(html: str) -> dict[str, dict[str, Any]]:
    """GeoJSON layer variable -> the Leaflet options gridplan gave it (``pane``, ...)."""
    out: dict[str, dict[str, Any]] = {}
    pattern = r"var (geo_json_\w+) = L\.geoJson\(null, \{.*?\.\.\.(\{[^{}]*\})\s*\}\);"
    for var, options in re.findall(pattern, html, re.S):
        out[var] = json.loads(re.sub(r",\s*}", "}", options))
    return out


def pane_order(html: str) -> dict[str, int]:
    """Pane name -> z-index, as the page creates them."""
    match = re.search(r"gridplan\.panes\(map_\w+, (\[.*?\]\])\);", html)
    assert match, "no gridplan panes in the page"
    return {name: int(z) for name, z, _ in json.loads(match.group(1))}


def label_sets(html: str) -> list[tuple[str, list[list[Any]], dict[str, Any]]]:
    """Each permanent label set: (variable of the layer it follows, items, options)."""
    pattern = r"gridplan\.labels\(map_\w+, (\w+), (\[.*?\]), (\{\"className\".*?\})\);"
    return [
        (leader, json.loads(items), json.loads(options))
        for leader, items, options in re.findall(pattern, html)
    ]


def labels_of(html: str, class_name: str) -> list[list[Any]]:
    """The items of the one label set of ``class_name``."""
    hits = [items for _, items, opts in label_sets(html) if opts["className"] == class_name]
    assert len(hits) == 1, f"{len(hits)} label sets of class {class_name}"
    return hits[0]


def panel_rows(html: str, table: str = "gridplan-communities") -> list[dict[str, str]]:
    """The clickable rows of a panel table: ``area`` (data-area), ``bounds`` and cell texts."""
    match = re.search(rf'<div class="gp-sec" id="{table}">(.*?)</table>', html, re.S)
    assert match, f"no panel table {table}"
    rows = []
    for attrs, body in re.findall(r"<tr (data-[^>]*)>(.*?)</tr>", match.group(1), re.S):
        area = re.search(r'data-area="([^"]*)"', attrs)
        bounds = re.search(r'data-bounds="([^"]*)"', attrs)
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body)
        ]
        rows.append(
            {
                "area": area.group(1) if area else "",
                "bounds": bounds.group(1) if bounds else "",
                "cells": cells,  # type: ignore[dict-item]
            }
        )
    return rows


# --- browser --------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), driven by Selenium through Debian's chromedriver.

    No browser or driver is downloaded: both paths are given explicitly. A fresh profile
    directory is created for the session and removed afterwards.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not Path(exe).exists():
            pytest.fail(f"{exe} is missing: install Debian's chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="gridplan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def network_urls(driver: Any) -> list[str]:
    """URLs the page requested since the performance log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def js_errors(driver: Any) -> list[str]:
    """Severe console messages (JavaScript errors) since the browser log was last read."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- a real subdistrict ---------------------------------------------------------------------

#: The band of the Providence wards map: chosen around the wards' real sizes (4,548–4,981
#: households) so that the map shows every band status.
WARD_BAND = (4700.0, 4800.0)


def providence_wards(shared_data: Path) -> MapLayers:
    """Providence as one subdistrict: its 15 city wards as communities and the 211 pieces of
    block groups inside each ward as grids (real 2010 census blocks and populations).

    Households = residents / 2.5 (the data has no household count). Findings and road shares
    come from the rule engine; the community band is :data:`WARD_BAND`.
    """
    import pandas as pd

    from gridplan.geo.rules import check_areas
    from gridplan.maps.inputs import DEFAULT_BANDS, join_metrics
    from gridplan.maps.style import Band
    from gridplan.plan import Level

    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    blocks["ward"] = blocks["WARD"].astype(int)
    blocks["grid"] = blocks["ward"].map("{:02d}".format) + "-" + blocks["GEOID10"].str[5:12]
    wards = blocks.dissolve("ward", aggfunc={"TOTPOP": "sum"}).reset_index()
    communities = gpd.GeoDataFrame(
        {
            "area_id": wards["ward"].map("W{:02d}".format),
            "name": wards["ward"].map("Ward {}".format),
            "code": wards["ward"].map("{:02d}".format),
            "households": (wards["TOTPOP"] / 2.5).round(),
            "residents": wards["TOTPOP"].astype(float),
        },
        geometry=wards.geometry,
        crs=blocks.crs,
    )
    pieces = blocks.dissolve("grid", aggfunc={"TOTPOP": "sum", "ward": "first"}).reset_index()
    grids = gpd.GeoDataFrame(
        {
            "area_id": pieces["grid"],
            "code": pieces["grid"],
            "parent_id": pieces["ward"].map("W{:02d}".format),
            "households": (pieces["TOTPOP"] / 2.5).round(),
            "residents": pieces["TOTPOP"].astype(float),
        },
        geometry=pieces.geometry,
        crs=blocks.crs,
    )
    report = check_areas(communities, level=Level.COMMUNITY)
    grid_report = check_areas(grids, level=Level.GRID)
    findings = pd.concat([report.findings, grid_report.findings.to_crs(report.findings.crs)])
    return MapLayers(
        communities=join_metrics(communities, report.areas, Level.COMMUNITY),
        grids=grids,
        findings=gpd.GeoDataFrame(findings, geometry="geometry", crs=report.findings.crs),
        bands={**DEFAULT_BANDS, "community": Band(*WARD_BAND)},
        title="Providence, RI: 15 wards as communities, 211 grids",
    )
