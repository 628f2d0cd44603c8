"""Structural tests of rendered plan maps (the hand-drawn subdistrict of ``mapkit``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from mapkit import (
    CRS,
    X0,
    Y0,
    features_of,
    label_sets,
    labels_of,
    layer_data,
    layer_options,
    overlay_names,
    pane_order,
    panel_rows,
    providence_wards,
    shown_layers,
    tiny_communities,
    tiny_layers,
)

from gridplan.data.crs import to_gcj02, to_storage
from gridplan.errors import CRSError, InputError
from gridplan.maps.inputs import MapLayers, bands_from_targets
from gridplan.maps.render import compound_communities, map_html, render_plan_map, save_map
from gridplan.maps.simplify import simplify_for_display
from gridplan.maps.style import (
    COMMUNITY_PALETTE,
    FINDING_STYLES,
    Band,
    band_status,
    community_adjacency,
    community_colours,
)
from gridplan.maps.tiles import external_resources, http_strings, leaflet_assets
from gridplan.plan import Plan, empty_assignments


@pytest.fixture(scope="module")
def page() -> str:
    return map_html(render_plan_map(tiny_layers()))


def test_layer_control_lists_every_layer(page: str) -> None:
    names = list(overlay_names(page))
    assert names[0] == "Communities (band 1,000–3,000 households)"
    assert "Grids (4)" in names
    assert "Compounds (3), coloured by community" in names
    assert "Roads (2)" in names
    assert "Facilities (1)" in names
    assert "Walking circles (10/15 minutes)" in names
    findings = [n for n in names if n.startswith("Finding ")]
    assert findings == [
        "Finding roads.off_road (1)",
        "Finding enclave.exclave (1)",
        "Finding enclave.embedded (1)",
        "Finding coverage.gap (1)",
        "Finding coverage.overlap (1)",
        "Finding compound.split (1)",
        "Finding compound.unassigned (1)",
        "Finding size.under (1)",
        "Finding size.over (1)",
    ]
    assert "L.control.layers" in page and '"collapsed": false' in page


def test_feature_counts(page: str) -> None:
    assert len(features_of(page, "Communities")) == 3
    assert len(features_of(page, "Grids")) == 4
    assert len(features_of(page, "Compounds")) == 3
    assert len(features_of(page, "Roads")) == 2
    assert len(features_of(page, "Finding roads.off_road")) == 1
    point = features_of(page, "Finding compound.unassigned")[0]
    assert point["geometry"]["type"] == "Point"
    # 3 communities + 4 grids + 3 compounds + 2 roads + 9 findings, and the 3 community
    # outlines drawn again above grids and findings (not in the layer control)
    assert sum(len(d["features"]) for d in layer_data(page).values()) == 24


def _fill(feature: dict[str, Any]) -> str:
    return str(feature["properties"]["_s"]).split("|")[0]


def test_each_community_its_own_colour_status_by_outline(page: str) -> None:
    feats = {f["properties"]["code"]: f for f in features_of(page, "Communities")}
    # the three communities all touch one another: three different fills
    assert len({_fill(f) for f in feats.values()}) == 3
    assert {_fill(f) for f in feats.values()} <= set(COMMUNITY_PALETTE)
    status = {c: str(f["properties"]["_s"]).split("|")[1] for c, f in feats.items()}
    assert status == {"350582001004": "in", "350582001015": "over", "350582001005": "under"}
    # band status is the outline: dark in the band, thick red over it, dashed blue under it
    assert '"color": "#252525"' in page and '"color": "#c2161b"' in page
    assert '"color": "#2166ac", "dashArray": "9 5"' in page


def test_adjacent_communities_always_differ() -> None:
    """Fourteen slices of a pie meet at its centre: every pair touches, so the graph is
    complete and needs more colours than the palette; all fourteen still differ."""
    angles = np.linspace(0, 2 * np.pi, 15)
    slices = [
        shapely.Polygon(
            [(X0, Y0)]
            + [
                (X0 + 1000 * np.cos(t), Y0 + 1000 * np.sin(t))
                for t in np.linspace(angles[i], angles[i + 1], 5)
            ]
        )
        for i in range(14)
    ]
    pie = gpd.GeoDataFrame({"area_id": [f"s{i}" for i in range(14)]}, geometry=slices, crs=CRS)
    graph = community_adjacency(pie)
    assert graph.number_of_edges() == 14 * 13 // 2
    colours = community_colours(pie)
    assert len(set(colours.values())) == 14
    # three communities touching one another: the palette's first, most distinct, colours
    assert set(community_colours(tiny_communities()).values()) == set(COMMUNITY_PALETTE[:3])


@pytest.mark.realdata
def test_real_subdistrict_adjacent_wards_differ(shared_data: Path) -> None:
    """Providence's 15 wards: every pair of touching wards has two different fills."""
    layers = providence_wards(shared_data)
    page = map_html(render_plan_map(layers))
    fills = {f["properties"]["area_id"]: _fill(f) for f in features_of(page, "Communities")}
    graph = community_adjacency(layers.communities)
    assert graph.number_of_edges() >= 25
    assert all(fills[a] != fills[b] for a, b in graph.edges())
    assert len(panel_rows(page)) == 15
    assert len(labels_of(page, "gp-community-label")) == 15
    assert len(labels_of(page, "gp-grid-label")) == 211


def test_permanent_labels(page: str) -> None:
    community = {i[2] for i in labels_of(page, "gp-community-label")}
    assert any(t.startswith("<b>青新社区</b><br>1,200户 ") and "✓" in t for t in community)
    assert any(t.startswith("<b>阳光社区</b><br>3,500户 ") and "↑" in t for t in community)
    assert any(t.startswith("<b>锦青社区</b><br>500户 ") and "↓" in t for t in community)
    sets = {opts["className"]: (leader, opts) for leader, _, opts in label_sets(page)}
    names = overlay_names(page)
    # community labels: shown at every zoom, with the communities layer
    leader, opts = sets["gp-community-label"]
    assert leader == names["Communities (band 1,000–3,000 households)"] and opts["minZoom"] == 0
    # grid codes: from one zoom closer than the opening view, only where they fit
    leader, opts = sets["gp-grid-label"]
    assert leader == names["Grids (4)"]
    assert opts["minZoom"] is None and opts["zoomOffset"] == 1 and opts["fit"] is True
    codes = sorted(i[2].split(" ")[0] for i in labels_of(page, "gp-grid-label"))
    assert codes == ["350582001004001", "350582001004002", "350582001005001", "350582001015001"]
    # community labels come first: they win where labels would overlap
    assert label_sets(page)[0][2]["className"] == "gp-community-label"
    # each label sits inside its community
    for lat, lon, text, _box, _alts in labels_of(page, "gp-community-label"):
        name = text.split("</b>")[0][3:]
        feature = next(
            f for f in features_of(page, "Communities") if f["properties"]["name"] == name
        )
        assert shapely.geometry.shape(feature["geometry"]).contains(shapely.Point(lon, lat))
    fixed = map_html(render_plan_map(tiny_layers(), label_min_zoom=16))
    assert {o["className"]: o for _, _, o in label_sets(fixed)}["gp-grid-label"]["minZoom"] == 16


def test_panel_lists_every_community(page: str) -> None:
    rows = panel_rows(page)
    assert [r["area"] for r in rows] == ["A", "B", "C"]
    cells = {r["area"]: r["cells"] for r in rows}
    # name, households, residents, grids, band badge, findings (own + its grids')
    assert cells["A"] == ["青新社区", "1,200", "3,600", "2", "✓", "3"]
    assert cells["B"] == ["阳光社区", "3,500", "10,500", "1", "↑", "2"]
    assert cells["C"] == ["锦青社区", "500", "1,500", "1", "↓", "2"]
    assert "2 finding(s) outside every community" in page
    # a row's bounds are its community's extent: clicking it zooms there
    south, west, north, east = (float(v) for v in rows[0]["bounds"].split(","))
    ring = np.array(features_of(page, "Communities")[0]["geometry"]["coordinates"][0])
    assert np.allclose([west, south, east, north], [*ring.min(axis=0), *ring.max(axis=0)])
    assert "gridplan.panel(map_" in page


def test_findings_drawn_under_the_boundaries(page: str) -> None:
    z = pane_order(page)
    assert z["gp-fill"] < z["gp-findings"] < z["gp-grids"] < z["gp-bounds"] < z["gp-labels"]
    names = overlay_names(page)
    options = layer_options(page)
    assert options[names["Communities (band 1,000–3,000 households)"]]["pane"] == "gp-fill"
    assert options[names["Grids (4)"]]["pane"] == "gp-grids"
    findings = [var for name, var in names.items() if name.startswith("Finding ")]
    assert findings and all(options[v]["pane"] == "gp-findings" for v in findings)
    # the community outlines are drawn again on top, never taking the pointer
    on_top = [o for o in options.values() if o.get("pane") == "gp-bounds"]
    assert on_top == [{"pane": "gp-bounds", "interactive": False}]
    # polygon findings are thin and lightly filled; line findings a translucent glow
    styles = {
        v: re.findall(r"return (\{[^{}]*\});", page[page.index(f"function {v}_styler") :])[0]
        for v in findings
    }
    for var, text in styles.items():
        style = json.loads(text)
        if '"lineCap"' in text:
            assert style["opacity"] <= 0.45, var
        else:
            assert style["weight"] <= 2.5 and style.get("fillOpacity", 0) <= 0.25, var


def test_layer_control_defaults(page: str) -> None:
    names = overlay_names(page)
    shown = shown_layers(page)
    off = {n for n, var in names.items() if var not in shown}
    assert off == {
        "Walking circles (10/15 minutes)",
        "Finding size.under (1)",
        "Finding size.over (1)",
    }
    assert names["Facilities (1)"] in shown and names["Grids (4)"] in shown
    with_units = map_html(render_plan_map(tiny_layers(units=_units())))
    assert overlay_names(with_units)["Units (1)"] not in shown_layers(with_units)
    walks = map_html(render_plan_map(tiny_layers(), show_walks=True))
    assert overlay_names(walks)["Walking circles (10/15 minutes)"] in shown_layers(walks)


def _units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"unit_id": ["u1"], "households": [10.0]},
        geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)],
        crs=CRS,
    )


def test_popup_content(page: str) -> None:
    a = next(f["properties"] for f in features_of(page, "Communities") if f["id"] == 0)
    assert a["name"] == "青新社区"
    assert a["code"] == "350582001004"
    assert a["households"] == "1,200"
    assert a["residents"] == "3,600"
    assert a["status"] == "in the band (1,000–3,000 households)"
    assert a["road_share"] == "75%"
    assert "enclave.exclave: part 2 of 2" in a["findings"]
    assert "compound.split" in a["findings"]
    b = next(f["properties"] for f in features_of(page, "Communities") if f["id"] == 1)
    assert "size.over: 3,500 households &gt; 3,000" in b["findings"]
    # the popup and tooltip show these fields, with readable labels
    assert re.search(r'"road_share",\s*"findings"\]', page)
    for alias in ("road share", "band", "findings", "households", "residents"):
        assert f'"{alias}"' in page


def test_grid_codes_compounds_and_roads(page: str) -> None:
    grids = features_of(page, "Grids")
    assert [g["properties"]["code"] for g in grids][:2] == ["350582001004001", "350582001004002"]
    assert grids[0]["properties"]["community"] == "青新社区"
    comps = {c["properties"]["name"]: c["properties"] for c in features_of(page, "Compounds")}
    assert comps["新世纪豪园"]["community"] == "青新社区"
    assert comps["阳光时代广场"]["community"] == "阳光社区"
    assert comps["孤楼"]["community"] == "unassigned"
    assert comps["新世纪豪园"]["_s"] != comps["阳光时代广场"]["_s"]  # neighbours differ
    roads = {r["properties"]["road_class"] for r in features_of(page, "Roads")}
    assert roads == {"local", "primary"}


def test_legend_states_band_and_counts(page: str) -> None:
    legend = re.search(r'<div id="gridplan-legend">(.*?)</div>\s*\n', page, re.S)
    assert legend, "no legend"
    text = legend.group(1)
    assert "Communities: band 1,000–3,000 households" in text
    for status in ("under the band (1)", "in the band (1)", "over the band (1)"):
        assert status in text
    assert "Grids: band 300–500 households" in text
    assert "10-minute walk (800 m) at 80 m/min" in text
    assert "15-minute walk (1,200 m) at 80 m/min" in text
    assert "roads.off_road (1)" in text and "primary" in text


def test_walking_circles_in_metres() -> None:
    page = map_html(render_plan_map(tiny_layers()))
    radii = sorted(float(r) for r in re.findall(r'"radius":\s*([0-9.]+)', page) if float(r) > 50)
    assert radii == [800.0, 1200.0]
    slow = map_html(render_plan_map(tiny_layers(), walk_speed_m_per_min=60, walk_minutes=(5,)))
    assert sorted(
        float(r) for r in re.findall(r'"radius":\s*([0-9.]+)', slow) if float(r) > 50
    ) == [300.0]
    assert "L.circle(" in page


def test_each_finding_rule_has_its_own_style() -> None:
    styles = {json.dumps(s, sort_keys=True) for s in FINDING_STYLES.values()}
    assert len(styles) == len(FINDING_STYLES)


def test_offline_page_makes_no_request(page: str) -> None:
    assert external_resources(page) == []
    assert http_strings(page) == []
    css, js = leaflet_assets()
    assert js in page and css in page
    # the only http strings in the whole file are inside the inlined Leaflet source
    leftovers = set(http_strings(page, ignore_leaflet=False))
    assert leftovers <= {
        "http://www.w3.org/2000/svg",
        "https://leafletjs.com",
        "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
    }
    assert "cdn.jsdelivr" not in page and "jquery" not in page.lower()
    assert "L.tileLayer" not in page
    assert "data:image/png;base64," in page  # Leaflet's images are inlined


def test_external_resources_are_found() -> None:
    page = '<script src="https://x.org/a.js"></script><link rel="stylesheet" href="//x.org/b.css">'
    page += "<style>.a{background:url('http://x.org/c.png')}</style><a href=\"https://x.org\">x</a>"
    assert len(external_resources(page)) == 3


def test_osm_tiles_add_only_the_tile_layer() -> None:
    page = map_html(render_plan_map(tiny_layers(), tiles="osm"))
    assert http_strings(page) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert external_resources(page) == []


def test_gaode_tiles_draw_in_gcj02() -> None:
    layers = tiny_layers()
    wgs = map_html(render_plan_map(layers))
    gcj = map_html(render_plan_map(layers, tiles="gaode"))
    assert "autonavi.com" in gcj
    ring_wgs = np.array(features_of(wgs, "Communities")[0]["geometry"]["coordinates"][0])
    ring_gcj = np.array(features_of(gcj, "Communities")[0]["geometry"]["coordinates"][0])
    expected = to_gcj02(to_storage(tiny_communities())).geometry.iloc[0].exterior.coords
    assert np.allclose(ring_gcj, np.array(expected), atol=2e-6)
    shift = np.abs(ring_gcj - ring_wgs).max()
    assert 0.001 < shift < 0.01  # a few hundred metres, the GCJ-02 offset near Jinjiang
    # the walking circle's centre moves with the geometry
    centres = re.findall(r"L\.circle\(\s*\[([0-9.]+),\s*([0-9.]+)\]", gcj)
    assert (
        centres
        and abs(
            float(centres[0][1])
            - float(re.findall(r"L\.circle\(\s*\[([0-9.]+),\s*([0-9.]+)\]", wgs)[0][1])
        )
        > 0.001
    )


def test_chinese_text_and_utf8_file(tmp_path: Path) -> None:
    path = save_map(render_plan_map(tiny_layers()), tmp_path / "sub" / "map.html")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    assert '<meta http-equiv="content-type" content="text/html; charset=UTF-8" />' in text
    assert "青阳街道 test plan" in text  # the title, as raw UTF-8
    names = {f["properties"]["name"] for f in features_of(text, "Communities")}
    assert names == {"青新社区", "阳光社区", "锦青社区"}
    assert '"name":"青新社区"' in text  # compact JSON keeps UTF-8 (no \\u escapes)


def test_map_html_leaves_folium_settings_alone() -> None:
    import folium

    policies = folium.GeoJson._template.environment.policies
    before = policies.get("json.dumps_kwargs")
    map_html(render_plan_map(tiny_layers()))
    assert policies.get("json.dumps_kwargs") == before
    plain = folium.Map(tiles=None)
    folium.GeoJson({"type": "Point", "coordinates": [1, 2]}).add_to(plain)
    assert '"coordinates": [1, 2]' in plain.get_root().render()  # folium's own default


def test_html_in_names_is_escaped() -> None:
    communities = tiny_communities()
    communities.loc[0, "name"] = "<script>alert(1)</script>"
    page = map_html(render_plan_map(MapLayers(communities)))
    assert "<script>alert(1)</script>" not in page
    props = features_of(page, "Communities")[0]["properties"]
    assert props["name"] == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_plan_input_uses_targets_and_metrics() -> None:
    comm = tiny_communities().drop(columns=["road_boundary_share"]).assign(level="community")
    comm["parent_id"] = None
    plan = Plan(
        name="青阳 2026",
        assignments=empty_assignments(),
        areas=gpd.GeoDataFrame(comm, geometry="geometry", crs=CRS),
        targets={"community": {"residents": [3000, 5000]}},
        plan_id=7,
    )
    metrics = pd.DataFrame(
        {"level": ["community"] * 3, "area_id": ["A", "B", "C"], "road_boundary_share": [1, 0, 0.5]}
    )
    layers = MapLayers.from_plan(plan, metrics=metrics)
    assert layers.title == "青阳 2026 (plan 7)"
    assert layers.grids is None
    page = map_html(render_plan_map(layers))
    assert "Communities (band 3,000–5,000 residents)" in overlay_names(page)
    props = [f["properties"] for f in features_of(page, "Communities")]
    assert [p["_s"].split("|")[1] for p in props] == ["in", "over", "under"]
    assert [p["road_share"] for p in props] == ["100%", "0%", "50%"]


def test_bands_from_targets_default_and_override() -> None:
    bands = bands_from_targets({})
    assert bands["community"] == Band(1000, 3000, "households")
    assert bands["grid"] == Band(300, 500, "households")
    bands = bands_from_targets({"grid": {"households": [200, 400]}})
    assert bands["grid"] == Band(200, 400, "households")


def test_band_status_bounds_inclusive() -> None:
    got = band_status([999, 1000, 3000, 3000.5, np.nan], Band(1000, 3000)).tolist()
    assert got == ["under", "in", "in", "over", "unknown"]
    assert band_status([5], None).tolist() == ["unknown"]
    with pytest.raises(InputError, match="not a range"):
        Band(10, 5)


def test_compound_membership_from_points_and_column() -> None:
    layers = tiny_layers()
    assert layers.compounds is not None
    assert compound_communities(layers.compounds, layers.communities) == ["A", "B", None]
    given = layers.compounds.assign(community_id=["C", None, "A"])
    assert compound_communities(given, layers.communities) == ["C", None, "A"]


def test_bad_layers_are_input_errors() -> None:
    comm = tiny_communities()
    with pytest.raises(InputError, match=r"communities: missing column\(s\) area_id"):
        MapLayers(comm.drop(columns=["area_id"]))
    with pytest.raises(InputError, match="communities is empty"):
        MapLayers(comm.iloc[:0])
    with pytest.raises(CRSError, match="no CRS"):
        MapLayers(comm.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="roads: missing column"):
        MapLayers(comm, roads=gpd.GeoDataFrame({"x": [1]}, geometry=[None], crs=CRS))
    with pytest.raises(InputError, match="positive"):
        render_plan_map(MapLayers(comm), walk_speed_m_per_min=0)
    with pytest.raises(InputError, match="unknown tiles"):
        render_plan_map(MapLayers(comm), tiles="google")


def test_simplify_keeps_shared_edges() -> None:
    """Two squares sharing a wiggly edge (1 cm wiggles): simplified together, no sliver.

    +-----+-----+
    |  L  ~  R  |    ~ = shared edge with 200 sub-metre wiggles
    +-----+-----+
    """
    ys = np.linspace(0, 1000, 201)
    xs = 1000 + np.where(np.arange(201) % 2 == 0, 0.0, 0.01)
    edge = list(zip(xs, ys, strict=True))
    left = shapely.Polygon([(0, 0), *edge, (0, 1000)])
    right = shapely.Polygon([*edge, (2000, 1000), (2000, 0)])
    gdf = gpd.GeoDataFrame(
        {"area_id": ["L", "R"]},
        geometry=gpd.GeoSeries([left, right]).translate(X0_, Y0_).values,
        crs=CRS,
    )
    out = simplify_for_display(gdf, tolerance_m=1.0, coverage=True)
    assert out.crs.to_epsg() == 4326
    assert shapely.get_num_coordinates(out.geometry.values).sum() < 20
    assert shapely.get_num_coordinates(gdf.geometry.values).sum() > 400
    metric = out.to_crs(CRS)
    overlap = metric.geometry.iloc[0].intersection(metric.geometry.iloc[1]).area
    union = metric.geometry.union_all().area
    assert overlap < 1.0 and abs(union - 2_000_000) < 50
    # coordinates are rounded to 6 decimals
    coords = shapely.get_coordinates(out.geometry.values)
    assert np.allclose(coords, np.round(coords, 6), atol=1e-12)


X0_, Y0_ = 654_000.0, 2_745_000.0


def test_findings_layers_count_by_level() -> None:
    layers = tiny_layers()
    assert layers.findings is not None
    extra = layers.findings[layers.findings["rule"] == "size.over"].assign(
        level="grid", area_id="B-1"
    )
    both = gpd.GeoDataFrame(pd.concat([layers.findings, extra]), crs=layers.findings.crs)
    page = map_html(render_plan_map(tiny_layers(findings=both)))
    names = overlay_names(page)
    assert "Finding size.over (2: 1 community, 1 grid)" in names
    assert "Finding size.under (1)" in names
    grid = next(
        f for f in features_of(page, "Grids") if f["properties"]["code"] == "350582001015001"
    )
    assert "size.over" in grid["properties"]["findings"]
