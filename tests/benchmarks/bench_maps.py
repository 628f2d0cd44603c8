"""Benchmark: gridplan's planner map vs a plain Folium map of the same layers.

Instance: Providence's 2010 census blocks repeated ``copies × copies`` times side by side
(default 2 × 2 = 12,056 units), with the blocks dissolved to tracts (communities, 156) and
block groups (grids, 616); households = residents / 2.5 (the data has no household count).

What is compared, on the same GeoDataFrames:

* gridplan: :func:`gridplan.maps.render.render_plan_map` with every unit drawn (units shown),
  communities by band status, grids, popups and tooltips; simplified for display (1 m),
  6 decimals, styles grouped, compact UTF-8 JSON, Leaflet inlined (no CDN).
* peer: what a Folium user writes by hand — ``folium.GeoJson(gdf, style_function=…,
  tooltip=GeoJsonTooltip(…), popup=GeoJsonPopup(…))`` per layer and a ``LayerControl``; full
  precision, Folium's default page (Leaflet, jQuery, Bootstrap, Font Awesome from CDNs).

Figures: render + write seconds, file size, and (when Debian's Chromium is installed) the
best-of-3 seconds headless Chromium takes to open the page and draw it. Both pages are opened
with no network: for that timing only, the Folium page's CDN links are replaced by the same
inlined Leaflet (without it, it would not draw at all offline).

Run: ``.venv/bin/python tests/benchmarks/bench_maps.py [--copies 2]``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import render_plan_map, save_map
from gridplan.maps.style import band_status, status_style
from gridplan.maps.tiles import leaflet_assets

PROVIDENCE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "providence"
    / "providence_blocks.gpkg"
)


def build_layers(blocks: gpd.GeoDataFrame, copies: int = 2) -> MapLayers:
    """Units, communities (tracts) and grids (block groups), repeated ``copies`` × ``copies``."""
    width = float(blocks.total_bounds[2] - blocks.total_bounds[0]) * 1.05
    height = float(blocks.total_bounds[3] - blocks.total_bounds[1]) * 1.05
    frames = []
    for i in range(copies):
        for j in range(copies):
            shifted = blocks[["GEOID10", "TRACTCE10", "TOTPOP", "geometry"]].copy()
            shifted.geometry = blocks.geometry.translate(i * width, j * height)
            shifted["copy"] = f"{i}{j}"
            frames.append(shifted)
    allb = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=blocks.crs)
    allb["tract"] = allb["copy"] + "-" + allb["TRACTCE10"]
    allb["bg"] = allb["copy"] + "-" + allb["GEOID10"].str[:12]
    tracts = allb.dissolve("tract", aggfunc={"TOTPOP": "sum"}).reset_index()
    groups = allb.dissolve("bg", aggfunc={"TOTPOP": "sum", "tract": "first"}).reset_index()
    return MapLayers(
        communities=gpd.GeoDataFrame(
            {
                "area_id": tracts["tract"],
                "name": "Tract " + tracts["tract"],
                "code": tracts["tract"],
                "households": tracts["TOTPOP"] / 2.5,
                "residents": tracts["TOTPOP"].astype(float),
            },
            geometry=tracts.geometry,
            crs=blocks.crs,
        ),
        grids=gpd.GeoDataFrame(
            {
                "area_id": groups["bg"],
                "code": groups["bg"],
                "parent_id": groups["tract"],
                "households": groups["TOTPOP"] / 2.5,
            },
            geometry=groups.geometry,
            crs=blocks.crs,
        ),
        units=gpd.GeoDataFrame(
            {"unit_id": allb["copy"] + "-" + allb["GEOID10"], "households": allb["TOTPOP"] / 2.5},
            geometry=allb.geometry,
            crs=blocks.crs,
        ),
    )


def render_gridplan(layers: MapLayers, path: Path) -> float:
    """Render and write gridplan's map (units shown); return the seconds it took."""
    start = time.perf_counter()
    save_map(render_plan_map(layers, show_units=True, label_limit=0), path)
    return time.perf_counter() - start


def render_folium(layers: MapLayers, path: Path) -> float:
    """Render and write the hand-written Folium map; return the seconds it took."""
    start = time.perf_counter()
    comm = layers.communities.to_crs(4326)
    band = layers.band("community")
    comm = comm.assign(status=band_status(comm["households"], band))
    minx, miny, maxx, maxy = comm.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=12, tiles=None)
    assert layers.units is not None and layers.grids is not None
    folium.GeoJson(
        layers.units.to_crs(4326),
        name="Units",
        style_function=lambda f: {"color": "#7f7f7f", "weight": 0.6, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(["unit_id", "households"]),
    ).add_to(fmap)
    folium.GeoJson(
        comm,
        name="Communities",
        style_function=lambda f: status_style(f["properties"]["status"]),
        tooltip=folium.GeoJsonTooltip(["name", "code", "households", "status"]),
        popup=folium.GeoJsonPopup(["name", "code", "households", "residents", "status"]),
    ).add_to(fmap)
    folium.GeoJson(
        layers.grids.to_crs(4326),
        name="Grids",
        style_function=lambda f: {"color": "#222222", "weight": 1.2, "fillOpacity": 0.0},
        tooltip=folium.GeoJsonTooltip(["code"]),
        popup=folium.GeoJsonPopup(["code", "parent_id", "households"]),
    ).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.save(str(path))
    return time.perf_counter() - start


def offline_copy(path: Path, out: Path) -> Path:
    """The Folium page with its CDN links replaced by the inlined Leaflet (for timing only)."""
    import re

    html = path.read_text(encoding="utf-8")
    html = re.sub(r'<script src="https?://[^"]+"></script>', "", html)
    html = re.sub(r'<link rel="stylesheet" href="https?://[^"]+"/>', "", html)
    css, js = leaflet_assets()
    html = html.replace("<head>", f"<head><style>{css}</style><script>{js}</script>", 1)
    out.write_text(html, encoding="utf-8")
    return out


def browser_open_seconds(path: Path, repeat: int = 3) -> float | None:
    """Best-of-``repeat`` seconds headless Chromium takes to open and draw ``path``."""
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gridplan-bench-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver: Any = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    best = float("inf")
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            driver.get(path.resolve().as_uri())
            while not driver.execute_script(
                "return document.readyState === 'complete' && "
                "document.querySelectorAll('.leaflet-overlay-pane path').length > 0"
            ):
                if time.perf_counter() - start > 120:
                    raise RuntimeError(f"{path} did not draw in 120 s")
                time.sleep(0.02)
            best = min(best, time.perf_counter() - start)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return best


def run(
    blocks: gpd.GeoDataFrame, copies: int, folder: Path, browser: bool = True
) -> dict[str, Any]:
    """Run both renderers on the same layers; return the figures."""
    layers = build_layers(blocks, copies)
    ours = folder / "gridplan.html"
    peer = folder / "folium.html"
    t_ours = render_gridplan(layers, ours)
    t_peer = render_folium(layers, peer)
    result: dict[str, Any] = {
        "units": len(layers.units) if layers.units is not None else 0,
        "communities": len(layers.communities),
        "grids": len(layers.grids) if layers.grids is not None else 0,
        "render_s": (t_ours, t_peer),
        "size_mb": (ours.stat().st_size / 1e6, peer.stat().st_size / 1e6),
    }
    if browser:
        o = browser_open_seconds(ours)
        p = browser_open_seconds(offline_copy(peer, folder / "folium-offline.html"))
        if o is not None and p is not None:
            result["open_s"] = (o, p)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    args = parser.parse_args()
    blocks = gpd.read_file(PROVIDENCE)
    with tempfile.TemporaryDirectory() as tmp:
        r = run(blocks, args.copies, Path(tmp))
    print(
        f"Providence x{args.copies * args.copies}: {r['units']:,} units, "
        f"{r['communities']} communities, {r['grids']} grids (all drawn)"
    )
    for key, label, unit in (
        ("render_s", "render + write", "s"),
        ("size_mb", "file size", "MB"),
        ("open_s", "open in Chromium", "s"),
    ):
        if key in r:
            ours, peer = r[key]
            print(
                f"{label:18s} gridplan {ours:8.2f} {unit:2s}  folium {peer:8.2f} {unit:2s}  "
                f"ratio folium/gridplan {peer / ours:5.2f}"
            )


if __name__ == "__main__":
    main()
