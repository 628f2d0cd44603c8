"""``compound.split`` (a compound cut by a boundary) and ``compound.unassigned``.

A compound polygon is split when at least two sides — areas, or "no area" for the part
outside every area — each hold at least ``compound_min_share`` of its area; the message gives
the share on each side. A compound is unassigned when no area holds that share of it (a
point: when no area contains it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.households import CompoundPieces
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext


@dataclass(frozen=True)
class _Sides:
    """Where each compound lies: the areas holding at least the minimum share of it."""

    held: dict[int, pd.DataFrame]  # compound -> rows (area, share), largest share first
    outside: npt.NDArray[np.float64]  # share of each compound in no area


def _sides(ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces) -> _Sides:
    assert ctx.compounds is not None
    geoms = np.asarray(ctx.compounds.geometry.values, dtype=object)
    sides = pieces.table.groupby(["compound", "area"], as_index=False)["share"].sum()
    covered = np.bincount(
        sides["compound"].to_numpy(dtype=np.int64),
        weights=sides["share"].to_numpy(dtype=float),
        minlength=len(geoms),
    )
    outside = np.clip(1.0 - covered, 0.0, 1.0)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    outside[is_point] = np.where(covered[is_point] > 0, 0.0, 1.0)
    big = sides[sides["share"] >= config.compound_min_share].sort_values(
        ["compound", "share", "area"], ascending=[True, False, True]
    )
    return _Sides({int(k): g for k, g in big.groupby("compound")}, outside)


def split_findings(
    ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces | None
) -> pd.DataFrame:
    """One finding per compound cut by a boundary (``compound.split``).

    ``area`` is the area holding most of it, ``value`` the share of it outside that area.
    """
    if ctx.compounds is None or pieces is None or len(ctx.compounds) == 0:
        return no_findings()
    comp = ctx.compounds
    geoms = np.asarray(comp.geometry.values, dtype=object)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    where = _sides(ctx, config, pieces)
    areas, values, messages, shapes = [], [], [], []
    for c in range(len(comp)):
        held = where.held.get(c)
        if held is None:
            continue
        out_share = float(where.outside[c])
        with_outside = out_share >= config.compound_min_share
        if len(held) + int(with_outside) < 2:
            continue
        parts = [
            f"{share:.0%} in {label(ctx.ids, ctx.names, int(a))}"
            for a, share in zip(held["area"], held["share"], strict=True)
        ]
        if with_outside:
            parts.append(f"{out_share:.0%} in no {ctx.level}")
        areas.append(int(held["area"].iloc[0]))
        values.append(1.0 - float(held["share"].iloc[0]))
        messages.append(
            f"compound {label(cids, cnames, c)} is cut by a boundary: " + ", ".join(parts)
        )
        shapes.append(geoms[c])
    return raw_findings("compound.split", areas, values, messages, shapes)


def unassigned_findings(
    ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces | None
) -> pd.DataFrame:
    """One finding per compound no area holds enough of (``compound.unassigned``).

    ``area`` is ``-1``, ``value`` the compound's households.
    """
    if ctx.compounds is None or pieces is None or len(ctx.compounds) == 0:
        return no_findings()
    comp = ctx.compounds
    geoms = np.asarray(comp.geometry.values, dtype=object)
    hh = comp["households"].to_numpy(dtype=float)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    where = _sides(ctx, config, pieces)
    lost = [c for c in range(len(comp)) if c not in where.held]
    messages = [
        f"compound {label(cids, cnames, c)} ({fmt(hh[c])} households) lies in no {ctx.level}"
        for c in lost
    ]
    return raw_findings("compound.unassigned", [-1] * len(lost), hh[lost], messages, geoms[lost])


def _split(context: RuleContext, config: CheckConfig) -> RuleResult:
    return RuleResult(split_findings(context.inputs, config, context.compound_pieces))


def _unassigned(context: RuleContext, config: CheckConfig) -> RuleResult:
    return RuleResult(unassigned_findings(context.inputs, config, context.compound_pieces))


register(
    RuleSpec(
        id="compound.split",
        severity="warning",
        order=80,
        label="compound cut by a boundary",
        style={
            "color": "#8b4513",
            "weight": 3,
            "fillColor": "#8b4513",
            "fillOpacity": 0.5,
            "dashArray": "6 3",
        },
        run=_split,
    )
)
register(
    RuleSpec(
        id="compound.unassigned",
        severity="error",
        order=90,
        label="compound in no area",
        style={"color": "#607d8b", "weight": 3, "fillColor": "#cfd8dc", "fillOpacity": 0.7},
        run=_unassigned,
    )
)
