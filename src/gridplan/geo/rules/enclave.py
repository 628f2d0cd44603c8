"""``enclave.exclave`` (an area in more than one part) and ``enclave.embedded`` (an island).

Parts are the polygons of an area's geometry: two polygons touching at a single point are
two parts (a point is not contiguity). Parts narrower than the sliver width are ignored.
The neighbours come from the shared boundary pieces (:mod:`gridplan.geo.rules.boundary`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.boundary import BoundaryPieces
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

Floats = npt.NDArray[np.float64]


def shared_lengths(pieces: BoundaryPieces, by: str) -> pd.DataFrame:
    """Internal boundary length per (``by`` = ``area`` or ``part``, ``neighbour``).

    ``neighbour`` is ``-1`` for boundary facing no area (a gap).
    """
    m = pieces.internal
    frame = pd.DataFrame(
        {
            by: getattr(pieces, by)[m],
            "neighbour": pieces.neighbour[m],
            "length": pieces.length[m],
        }
    )
    return frame.groupby([by, "neighbour"], as_index=False, sort=True)[["length"]].sum()


def exclave_findings(
    ctx: CheckContext,
    pieces: BoundaryPieces,
    part_households: Floats | None,
    part_residents: Floats | None,
    area_households: Floats | None,
    area_residents: Floats | None,
) -> pd.DataFrame:
    """One finding per detached part (every part but the largest of a multi-part area).

    ``value`` is the part's households (from units or compounds, else the area's households
    pro rata by area; ``NaN`` when unknown).
    """
    part_area = ctx.part_area
    sizes = shapely.area(ctx.parts)
    counts = np.bincount(part_area, minlength=ctx.n)
    multi = np.flatnonzero(counts[part_area] > 1)
    if len(multi) == 0:
        return no_findings()
    frame = pd.DataFrame({"part": multi, "area": part_area[multi], "size": sizes[multi]})
    main = frame.sort_values(["area", "size", "part"], ascending=[True, False, True])
    main_parts = set(main.drop_duplicates("area")["part"].tolist())
    detached = frame[~frame["part"].isin(main_parts)]
    area_size = np.bincount(part_area, weights=sizes, minlength=ctx.n).astype(float)
    hh = _part_values(part_households, area_households, part_area, sizes, area_size)
    res = _part_values(part_residents, area_residents, part_area, sizes, area_size)
    estimated = part_households is None and area_households is not None
    lengths = shared_lengths(pieces, "part")
    lengths = lengths[lengths["neighbour"] >= 0].sort_values(
        ["part", "length", "neighbour"], ascending=[True, False, True]
    )
    best = lengths.drop_duplicates("part").set_index("part")
    best_neighbour = best["neighbour"].to_dict()
    best_length = best["length"].to_dict()
    areas, values, messages, geoms = [], [], [], []
    for part, area, size in detached.itertuples(index=False):
        who = label(ctx.ids, ctx.names, int(area))
        text = f"{ctx.level} {who} has a detached part of {size / 10_000:,.2f} ha"
        if hh is not None:
            text += f" with {'about ' if estimated else ''}{fmt(hh[part])} households"
            if res is not None:
                text += f" ({fmt(res[part])} residents)"
        elif res is not None:
            text += f" with {fmt(res[part])} residents"
        if part in best_neighbour:
            nb = int(best_neighbour[part])
            text += (
                f"; it borders {label(ctx.ids, ctx.names, nb)} most "
                f"({fmt(float(best_length[part]))} m)"
            )
        else:
            text += "; it borders no other area"
        areas.append(int(area))
        values.append(hh[part] if hh is not None else np.nan)
        messages.append(text)
        geoms.append(ctx.parts[part])
    return raw_findings("enclave.exclave", areas, values, messages, geoms)


def embedded_findings(
    ctx: CheckContext,
    config: CheckConfig,
    pieces: BoundaryPieces,
    area_households: Floats | None,
) -> pd.DataFrame:
    """One finding per area whose whole internal boundary is shared with one other area.

    The subdistrict outline aside: an area on the outline whose other boundary is all shared
    with one area is embedded in it too when that area wraps round it, i.e. borders more of
    it than the outline does (so an edge area with a single neighbour along one side is
    not an island). Of two areas that are each other's only neighbour, the one on the
    outline is not inside the other.

    ``value`` is the embedded area's households (``NaN`` when unknown).
    """
    noise = 2.0 * config.sample_step + config.sliver_width
    lengths = shared_lengths(pieces, "area")
    lengths = lengths[lengths["length"] > noise]
    shared = lengths[lengths["neighbour"] >= 0]
    facing_gap = set(lengths.loc[lengths["neighbour"] < 0, "area"].tolist())
    n_neighbours = shared.groupby("area")["neighbour"].count()
    lone = shared[shared["area"].isin(n_neighbours[n_neighbours == 1].index)]
    lone = lone[~lone["area"].isin(facing_gap)]
    host = dict(zip(lone["area"].astype(int), lone["neighbour"].astype(int), strict=True))
    areas, values, messages, geoms = [], [], [], []
    for area_value, nb_value, length_value in zip(
        lone["area"], lone["neighbour"], lone["length"], strict=True
    ):
        area, nb, length = int(area_value), int(nb_value), float(length_value)
        outline_length = _outline_length(pieces, area)
        on_outline = outline_length > 0
        if outline_length > length:
            continue
        # Two areas that are each other's only neighbour (e.g. a subdistrict of two): the
        # one on the outline is not inside the other.
        if host.get(nb) == area and on_outline:
            continue
        areas.append(area)
        values.append(area_households[area] if area_households is not None else np.nan)
        messages.append(
            f"{ctx.level} {label(ctx.ids, ctx.names, area)} lies inside "
            f"{label(ctx.ids, ctx.names, nb)}: its whole boundary"
            f"{' off the outline' if on_outline else ''} "
            f"({fmt(length)} m) is shared with it alone"
        )
        geoms.append(ctx.geoms[area])
    return raw_findings("enclave.embedded", areas, values, messages, geoms)


def _outline_length(pieces: BoundaryPieces, area: int) -> float:
    """Length of the area's boundary that is not internal (on or outside the outline)."""
    mine = pieces.area == area
    return float(pieces.length[mine & ~pieces.internal].sum())


def _part_values(
    per_part: Floats | None,
    per_area: Floats | None,
    part_area: npt.NDArray[np.int64],
    sizes: Floats,
    area_size: Floats,
) -> Floats | None:
    if per_part is not None:
        return per_part
    if per_area is not None:
        return np.asarray(per_area[part_area] * sizes / area_size[part_area], dtype=float)
    return None


def _exclave(context: RuleContext, config: CheckConfig) -> RuleResult:
    counts = context.part_counts
    findings = exclave_findings(
        context.inputs,
        context.boundary,
        counts.households,
        counts.residents,
        context.households,
        context.residents,
    )
    return RuleResult(findings, ignored_slivers=context.inputs.sliver_parts)


def _embedded(context: RuleContext, config: CheckConfig) -> RuleResult:
    return RuleResult(
        embedded_findings(context.inputs, config, context.boundary, context.households)
    )


register(
    RuleSpec(
        id="enclave.exclave",
        severity="error",
        order=30,
        label="detached part (exclave)",
        style={
            "color": "#6a00a8",
            "weight": 3,
            "fillColor": "#6a00a8",
            "fillOpacity": 0.45,
            "dashArray": "2 4",
        },
        run=_exclave,
    )
)
register(
    RuleSpec(
        id="enclave.embedded",
        severity="warning",
        order=40,
        label="island inside another area",
        style={"color": "#00bcd4", "weight": 4, "fillColor": "#00bcd4", "fillOpacity": 0.35},
        run=_embedded,
    )
)
