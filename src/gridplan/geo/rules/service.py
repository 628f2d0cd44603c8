"""``service.volunteers_short``: registered volunteers under the policy's share of residents.

The community-building opinions ask for registered volunteers of at least 8 % of a
community's residents, 10 % in model communities (示范社区). The rule reads the areas' own
``volunteers`` column (registered volunteers) and an optional ``model`` column (``1``,
``true``, ``yes`` or ``是`` flags a model community); the shares are
:attr:`~gridplan.geo.rules.config.CheckConfig.volunteer_share` and
:attr:`~gridplan.geo.rules.config.CheckConfig.model_volunteer_share`. The finding's value is
the shortfall (volunteers missing); its message gives the count, the target and the share.
Areas without a volunteers count, or with unknown residents, are not judged; areas without
a ``volunteers`` column at all (most grid layers) are not either, silently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.finding import fmt, label, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

_TRUE = ("1", "1.0", "true", "yes", "y", "是")


def _volunteers_short(context: RuleContext, config: CheckConfig) -> RuleResult:
    ctx = context.inputs
    areas = ctx.areas
    if "volunteers" not in areas.columns:  # an optional count: nothing to judge, nothing to say
        return RuleResult()
    volunteers = pd.to_numeric(areas["volunteers"], errors="coerce").to_numpy(dtype=float)
    model = (
        areas["model"].map(lambda v: str(v).strip().lower() in _TRUE).to_numpy(dtype=bool)
        if "model" in areas.columns
        else np.zeros(len(areas), dtype=bool)
    )
    residents = context.residents
    if residents is None:
        return RuleResult(notes=("volunteers not checked: no residents per area are known",))
    rows, shortfalls, messages = [], [], []
    for i in range(ctx.n):
        if math.isnan(volunteers[i]) or math.isnan(residents[i]):
            continue
        share = config.model_volunteer_share if model[i] else config.volunteer_share
        target = math.ceil(residents[i] * share - 1e-9)
        if volunteers[i] >= target:
            continue
        rows.append(i)
        shortfalls.append(target - volunteers[i])
        kind = "model community " if model[i] else ""
        messages.append(
            f"{kind}{label(ctx.ids, ctx.names, i)} has {fmt(volunteers[i])} registered "
            f"volunteers, under {share:.0%} of its {fmt(residents[i])} residents "
            f"({target}; {fmt(target - volunteers[i])} short)"
        )
    idx = np.asarray(rows, dtype=np.int64)
    return RuleResult(
        raw_findings("service.volunteers_short", idx, shortfalls, messages, ctx.geoms[idx])
    )


register(
    RuleSpec(
        id="service.volunteers_short",
        severity="warning",
        order=120,
        label="too few registered volunteers",
        style={"color": "#2e7d32", "weight": 3, "fill": False, "dashArray": "3 3"},
        run=_volunteers_short,
    )
)
