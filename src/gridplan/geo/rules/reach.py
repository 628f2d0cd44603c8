"""``reach.outside``: households beyond the walking threshold of their service centre.

A community whose share of households living within ``config.reach_minutes`` walk
(``× config.walking_speed``: 10 minutes, 500 m by default) of its own service centre is under
``config.reach_target_share`` (default 100 %) gets one finding. Its geometry is the unreached
buildings (or compounds, or units: the finest layer with households), its value the
households beyond, its message the numbers. Distances are walked on the paths layer, else on
the roads (:mod:`gridplan.geo.reach`, which says how a community's service centre is found).

Only communities are checked (the service centre is a community's), and only when facilities
are given; a check with facilities but without a walking network or household locations notes
why it did not run.

Example: a community of two compounds either side of a river, its centre on the south bank;
the bridge is 700 m to the west, so the north compound (300 m away as the crow flies) is
1,720 m away on foot and is reported::

    +---------------------------------+
    | (0,300) ===== north ===== C 300 hh
    |   ||bridge      river           |
    | (0,0)   ===== south ===== F  D 200 hh
    +---------------------------------+

``check_areas(areas, facilities=F, paths=streets, compounds=C+D)`` finds
``reach.outside`` with value 300 and the message ``… 300 of 500 households (60%) live
beyond a 10-minute walk (500 m) of its service centre …``.
"""

from __future__ import annotations

import numpy as np
import shapely

from gridplan.geo.reach import household_locations, service_reach
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

RULE = "reach.outside"


def _outside(context: RuleContext, config: CheckConfig) -> RuleResult:
    ctx = context.inputs
    if ctx.level != "community":
        return RuleResult()
    if ctx.facilities is None or not len(ctx.facilities):
        return RuleResult()  # no facilities: nothing to reach (a check of boundaries only)
    lines = ctx.paths if ctx.paths is not None and len(ctx.paths) else ctx.roads
    if lines is None or not len(lines):
        return RuleResult(notes=("reach not checked: no paths or roads to walk along",))
    locations = household_locations(
        buildings=ctx.buildings, compounds=ctx.compounds, units=ctx.units
    )
    if not len(locations):
        return RuleResult(
            notes=("reach not checked: no buildings, compounds or units with households",)
        )
    metres = config.reach_metres
    result = service_reach(
        ctx.areas, ctx.facilities, locations.to_crs(ctx.crs), lines, thresholds=(metres,)
    )
    rows = result.at(metres)
    unreached = result.unreached(metres)
    walk = f"{fmt(config.reach_minutes)}-minute walk ({fmt(metres)} m)"
    target = config.reach_target_share
    areas, values, messages, geoms = [], [], [], []
    for i, row in enumerate(rows.to_dict(orient="records")):
        households = float(row["households"])
        share = float(row["share"])
        if households <= 0 or share >= target - 1e-12:
            continue
        beyond = households - float(row["households_within"])
        mine = unreached[unreached["community"] == row["community"]]
        where = label(ctx.ids, ctx.names, i)
        if row["centres"]:
            centre = f"of its service centre {str(row['centres']).replace(';', ', ')}"
        else:
            centre = "of a service centre: it has none (no service-centre facility inside it)"
        messages.append(
            f"community {where}: {fmt(beyond)} of {fmt(households)} households "
            f"({fmt(100 * (1 - share))}%) live beyond a {walk} {centre}; "
            f"{fmt(100 * share)}% within, target {fmt(100 * target)}%; "
            f"{len(mine)} {mine['layer'].iloc[0] if len(mine) else 'locations'} unreached"
        )
        areas.append(i)
        values.append(beyond)
        geoms.append(shapely.union_all(np.asarray(mine.geometry.values, dtype=object)))
    found = raw_findings(RULE, areas, values, messages, geoms) if areas else no_findings()
    return RuleResult(found, notes=result.notes)


register(
    RuleSpec(
        id=RULE,
        severity="warning",
        order=110,
        label="households beyond a walk of their service centre",
        style={"color": "#e65100", "weight": 1, "fillColor": "#ff9800", "fillOpacity": 0.15},
        run=_outside,
    )
)
