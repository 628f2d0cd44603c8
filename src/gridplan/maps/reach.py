"""Service reach on the planner map: isochrones along the walking network, unreached homes.

:func:`add_reach` draws two layers on a :class:`~gridplan.maps.canvas.MapCanvas`:

* **Walking isochrones** — per facility and threshold, the area reached along the walking
  network (:meth:`gridplan.geo.reach.ReachResult.isochrones`: the reached ways buffered, not
  circles, so a river without a bridge bounds them); one translucent shade per threshold,
  off until switched on in the layer control (they would cover the plan);
* **Households beyond reach** — the buildings (or compounds) farther than the threshold from
  their community's service centre, filled orange, on when the map opens.

They replace the Euclidean walking circles the map drew before network distances were known.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd

from gridplan.maps.canvas import (
    PANE_MARKS,
    PANE_ROADS,
    MapCanvas,
    escape,
    format_count,
    format_number,
    geojson_layer,
    legend_swatch,
    text_column,
)

#: Isochrone fills, nearest threshold first (darker = closer).
ISOCHRONE_COLOURS: tuple[str, ...] = ("#08519c", "#3182bd", "#6baed6", "#9ecae1", "#c6dbef")
#: Fill of the households beyond reach.
UNREACHED_COLOUR = "#f57c00"


def add_reach(
    canvas: MapCanvas,
    isochrones: gpd.GeoDataFrame | None,
    unreached: gpd.GeoDataFrame | None,
    *,
    show_isochrones: bool = False,
    speed: float | None = None,
) -> None:
    """Draw the isochrones (off by default) and the unreached households.

    Parameters
    ----------
    canvas
        The map being drawn.
    isochrones
        ``facility_id``, ``name``, ``kind``, ``threshold`` (metres) and polygons, any CRS.
    unreached
        Household locations beyond reach: ``location_id``, ``layer``, ``households``,
        ``community``, ``distance_centre`` (metres, ``inf`` beyond the largest threshold).
    show_isochrones
        Show the isochrones when the map opens.
    speed
        Walking speed (m/min) to state minutes beside metres in the legend.
    """
    rows: list[str] = []
    if isochrones is not None and not isochrones.empty:
        thresholds = sorted({float(t) for t in isochrones["threshold"]})
        colour = {
            t: ISOCHRONE_COLOURS[min(k, len(ISOCHRONE_COLOURS) - 1)]
            for k, t in enumerate(thresholds)
        }
        # largest first, so the nearer (darker) bands are drawn on top
        ordered = isochrones.assign(_t=isochrones["threshold"].astype(float)).sort_values(
            "_t", ascending=False, kind="stable"
        )
        shown = canvas.display(ordered.drop(columns="_t"))
        names = text_column(ordered, "name", fallback=ordered["facility_id"].astype(str))
        props = pd.DataFrame(
            {
                "facility": names.to_numpy(),
                "walk": [_walk(t, speed) for t in ordered["_t"]],
                "_s": [f"t{thresholds.index(t)}" for t in ordered["_t"]],
            }
        )
        styles = {
            f"t{k}": {
                "color": colour[t],
                "weight": 1,
                "opacity": 0.7,
                "fillColor": colour[t],
                "fillOpacity": 0.12,
            }
            for k, t in enumerate(thresholds)
        }
        geojson_layer(
            canvas,
            shown,
            props,
            name="Walking isochrones along the network ("
            + "/".join(format_number(t) for t in thresholds)
            + " m)",
            styles=styles,
            tooltip=None,
            popup=None,
            highlight=None,
            show=show_isochrones,
            pane=PANE_ROADS,
            interactive=False,  # never hide the areas underneath from the pointer
        ).add_to(canvas.map)
        rows += [legend_swatch(colour[t], _walk(t, speed)) for t in thresholds]
    count = 0
    if unreached is not None and not unreached.empty:
        count = len(unreached)
        shown = canvas.display(unreached)
        distance = unreached["distance_centre"].to_numpy(dtype=float)
        props = pd.DataFrame(
            {
                "location": text_column(unreached, "location_id").to_numpy(),
                "layer": text_column(unreached, "layer").to_numpy(),
                "community": text_column(unreached, "community").to_numpy(),
                "households": [format_count(h) for h in unreached["households"].fillna(0.0)],
                "walk": [
                    f"{format_number(round(d))} m" if math.isfinite(d) else "beyond every threshold"
                    for d in distance
                ],
            }
        )
        geojson_layer(
            canvas,
            shown,
            props,
            name=f"Households beyond reach of their service centre ({count})",
            styles={
                "": {
                    "color": "#e65100",
                    "weight": 1,
                    "fillColor": UNREACHED_COLOUR,
                    "fillOpacity": 0.45,
                    "radius": 5,
                }
            },
            tooltip=(
                ["location", "community", "households", "walk"],
                ["location", "community", "households", "walk to centre"],
            ),
            popup=None,
            highlight={"weight": 3},
            pane=PANE_MARKS,
        ).add_to(canvas.map)
        rows.append(legend_swatch(UNREACHED_COLOUR, f"beyond reach of the centre ({count})"))
    if rows:
        canvas.legend.append(
            '<div class="gp-sec" data-layer="reach"><b>Walking reach (network)</b>'
            '<div class="gp-note">isochrones along the ways: switch on under Layers</div>'
            f"{''.join(rows)}</div>"
        )


def _walk(metres: float, speed: float | None) -> str:
    text = f"{format_number(metres)} m walk"
    if speed:
        text += f" ({format_number(round(metres / speed, 1))} min)"
    return escape(text)


def has_reach(isochrones: gpd.GeoDataFrame | None) -> bool:
    """Whether network isochrones are there to draw (then no Euclidean circles are)."""
    return isochrones is not None and len(isochrones) > 0


__all__ = ["ISOCHRONE_COLOURS", "UNREACHED_COLOUR", "add_reach", "has_reach"]
