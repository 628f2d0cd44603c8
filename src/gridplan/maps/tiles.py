"""Base maps and the self-contained page: tile options and the inlined Leaflet library.

Every map gridplan writes is one self-contained HTML file. Folium links Leaflet, jQuery,
Bootstrap and Font Awesome from CDNs by default; gridplan drops those links and inlines the
Leaflet 1.9.4 JavaScript and CSS it vendors in ``maps/static/leaflet`` (BSD-2-Clause, copied
unchanged from the ``leaflet`` npm package; its images are inlined as ``data:`` URIs). Nothing
else is needed: popups, tooltips, the layer control and the legend use plain Leaflet.

Tile options (:class:`Tiles`):

``none``
    No base map at all: the page makes no network request of any kind (the browser test checks
    this). The only ``http`` strings left in the file are inside the inlined Leaflet source:
    the SVG namespace identifier and links in comments and the (disabled) attribution prefix.
``osm``
    OpenStreetMap's standard tiles (WGS84 / Web Mercator). Geometry is drawn as stored.
``gaode``
    Gaode (AMap) road tiles. Chinese web tiles are drawn in GCJ-02, the obfuscated frame that
    shifts features in mainland China by up to several hundred metres from WGS84. When these
    tiles are chosen, every geometry drawn on the map (areas, roads, compounds, findings,
    facilities and their walking circles) is converted to GCJ-02 with
    :func:`gridplan.data.crs.to_gcj02` so it lines up with the tiles (accuracy of the public
    formula: about 1–2 m). Outside mainland China GCJ-02 equals WGS84. The store always keeps
    WGS84.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

import folium
from branca.element import Element, Figure

from gridplan.errors import InputError

#: Version of the vendored Leaflet (see ``maps/static/README.md``).
LEAFLET_VERSION = "1.9.4"


class Tiles(StrEnum):
    """Base map choices for ``--tiles``."""

    NONE = "none"
    OSM = "osm"
    GAODE = "gaode"


@dataclass(frozen=True)
class TileSpec:
    """A web tile layer.

    Parameters
    ----------
    url
        Leaflet URL template.
    attribution
        Attribution HTML shown on the map.
    subdomains
        Values of ``{s}``.
    max_zoom
        Highest zoom the tiles exist for.
    gcj02
        The tiles are drawn in GCJ-02: geometry must be converted before drawing.
    """

    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 19
    gcj02: bool = False


TILE_SPECS: dict[Tiles, TileSpec] = {
    Tiles.OSM: TileSpec(
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution="&copy; OpenStreetMap contributors",
        subdomains="abc",
        max_zoom=19,
    ),
    Tiles.GAODE: TileSpec(
        url=(
            "https://webrd0{s}.is.autonavi.com/appmaptile"
            "?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
        ),
        attribution="&copy; 高德地图 AutoNavi (GCJ-02)",
        subdomains="1234",
        max_zoom=18,
        gcj02=True,
    ),
}

#: Background colour of the map when there are no tiles.
BLANK_BACKGROUND = "#f4f3ef"


def tile_option(value: Tiles | str) -> Tiles:
    """Parse a tile option.

    Raises
    ------
    InputError
        If ``value`` is not a known option.
    """
    try:
        return Tiles(str(value).lower())
    except ValueError as exc:
        known = ", ".join(t.value for t in Tiles)
        raise InputError(f"unknown tiles {value!r} (expected one of {known})") from exc


def needs_gcj02(tiles: Tiles | str) -> bool:
    """Whether geometry must be converted to GCJ-02 to line up with these tiles."""
    spec = TILE_SPECS.get(tile_option(tiles))
    return spec is not None and spec.gcj02


def add_tiles(fmap: folium.Map, tiles: Tiles | str) -> None:
    """Add the base map of ``tiles`` to ``fmap`` (nothing for ``none``)."""
    option = tile_option(tiles)
    spec = TILE_SPECS.get(option)
    if spec is None:
        return
    folium.TileLayer(
        tiles=spec.url,
        attr=spec.attribution,
        name=f"base map ({option.value})",
        subdomains=spec.subdomains,
        max_zoom=spec.max_zoom,
        control=False,
    ).add_to(fmap)


def make_self_contained(fmap: folium.Map) -> None:
    """Replace folium's CDN links with the vendored Leaflet, inlined into the page.

    Must be called before the map is rendered. Other elements gridplan adds use no external
    resources; :func:`external_resources` checks a rendered page for any that slipped in.
    """
    fmap.default_js = []
    fmap.default_css = []
    figure = page_of(fmap)
    css, js = leaflet_assets()
    figure.header.add_child(Element(f"<style>{css}</style>"), name="gridplan_leaflet_css")
    figure.header.add_child(Element(f"<script>{js}</script>"), name="gridplan_leaflet_js")


_EXTERNAL = re.compile(
    r"""<(?:script|img|iframe|link|source|embed|video|audio|object)\b[^>]*?"""
    r"""\b(?:src|href|data)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def external_resources(html: str) -> list[str]:
    """Every place in ``html`` that would load something over the network.

    Looks for ``src``/``href``/``data`` attributes of elements that load (scripts, style
    links, images, frames, media), CSS ``url()`` and ``@import`` pointing at ``http(s)`` or
    protocol-relative addresses. Plain links (``<a href>``) load nothing and tile URL
    templates live inside the map script: use :func:`http_strings` for every ``http(s)``
    string.
    """
    return [html[max(m.start() - 40, 0) : m.end() + 60] for m in _EXTERNAL.finditer(html)]


_HTTP = re.compile(r"https?://[^\s\"'<>)]*", re.IGNORECASE)


def http_strings(html: str, *, ignore_leaflet: bool = True) -> list[str]:
    """All ``http(s)://`` strings in ``html``.

    With ``ignore_leaflet``, the inlined Leaflet source is left out first (it contains the SVG
    namespace identifier, comment links and its attribution-prefix link, none of which is
    requested by the browser).
    """
    if ignore_leaflet:
        css, js = leaflet_assets()
        html = html.replace(js, "").replace(css, "")
    return _HTTP.findall(html)


@cache
def leaflet_assets() -> tuple[str, str]:
    """The vendored Leaflet CSS (images inlined as data URIs) and JavaScript."""
    base = resources.files("gridplan.maps") / "static" / "leaflet"
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    js = (base / "leaflet.js").read_text(encoding="utf-8")

    def _inline(match: re.Match[str]) -> str:
        name = match.group(1)
        data = (base / "images" / name).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", _inline, css)
    # Never let the inlined script close the surrounding <script> element early.
    js = js.replace("</script", "<\\/script")
    return css, js


def page_of(fmap: folium.Map) -> Figure:
    """The page (branca Figure) a map is drawn in."""
    root = fmap.get_root()
    if not isinstance(root, Figure):  # folium always roots a Map in a Figure
        raise TypeError("the map is not attached to a page")
    return root
