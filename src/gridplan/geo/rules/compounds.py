"""``compound.split`` (a compound cut by a boundary) and ``compound.unassigned``.

A compound polygon is split when at least two sides — areas, or "no area" for the part
outside every area — each hold at least ``compound_min_share`` of its area; the message gives
the share on each side. A compound is unassigned when no area holds that share of it (a
point: when no area contains it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.households import CompoundPieces


def compound_findings(
    ctx: CheckContext, config: CheckConfig, pieces: CompoundPieces | None
) -> pd.DataFrame:
    """Split and unassigned compounds."""
    if ctx.compounds is None or pieces is None or len(ctx.compounds) == 0:
        return no_findings()
    comp = ctx.compounds
    geoms = np.asarray(comp.geometry.values, dtype=object)
    n = len(comp)
    t = pieces.table
    sides = t.groupby(["compound", "area"], as_index=False)["share"].sum()
    covered = np.bincount(
        sides["compound"].to_numpy(dtype=np.int64),
        weights=sides["share"].to_numpy(dtype=float),
        minlength=n,
    )
    outside = np.clip(1.0 - covered, 0.0, 1.0)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    outside[is_point] = np.where(covered[is_point] > 0, 0.0, 1.0)
    big = sides[sides["share"] >= config.compound_min_share].sort_values(
        ["compound", "share", "area"], ascending=[True, False, True]
    )
    by_compound = {int(k): g for k, g in big.groupby("compound")}
    hh = comp["households"].to_numpy(dtype=float)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    rows: list[tuple[str, int, float, str, object]] = []
    for c in range(n):
        name = label(cids, cnames, c)
        held = by_compound.get(c)
        n_sides = 0 if held is None else len(held)
        out_share = float(outside[c])
        if n_sides == 0:
            rows.append(
                (
                    "compound.unassigned",
                    -1,
                    hh[c],
                    f"compound {name} ({fmt(hh[c])} households) lies in no {ctx.level}",
                    geoms[c],
                )
            )
            continue
        assert held is not None
        with_outside = out_share >= config.compound_min_share
        if n_sides + int(with_outside) < 2:
            continue
        parts = [
            f"{share:.0%} in {label(ctx.ids, ctx.names, int(a))}"
            for a, share in zip(held["area"], held["share"], strict=True)
        ]
        if with_outside:
            parts.append(f"{out_share:.0%} in no {ctx.level}")
        top = float(held["share"].iloc[0])
        rows.append(
            (
                "compound.split",
                int(held["area"].iloc[0]),
                1.0 - top,
                f"compound {name} is cut by a boundary: " + ", ".join(parts),
                geoms[c],
            )
        )
    if not rows:
        return no_findings()
    frames = [
        raw_findings(
            rule,
            [r[1] for r in rows if r[0] == rule],
            [r[2] for r in rows if r[0] == rule],
            [r[3] for r in rows if r[0] == rule],
            [r[4] for r in rows if r[0] == rule],
        )
        for rule in ("compound.split", "compound.unassigned")
    ]
    return pd.concat(frames, ignore_index=True)
