"""``size.under`` / ``size.over``: households (or residents) against the level's band."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext


def size_findings(
    ctx: CheckContext,
    config: CheckConfig,
    measure_values: npt.NDArray[np.float64] | None,
    side: str,
) -> pd.DataFrame:
    """One finding per area on ``side`` of the band (areas with an unknown count are not judged).

    Parameters
    ----------
    ctx
        The check's inputs.
    config
        Gives the measure and the band of ``ctx.level``.
    measure_values
        The measure per area (``None`` when it is unknown for every area).
    side
        ``"under"`` (rule ``size.under``) or ``"over"`` (``size.over``).
    """
    if measure_values is None:
        return no_findings()
    lo, hi = config.band(ctx.level)
    if side == "under":
        mask, word, bound = measure_values < lo, "below", lo
    else:
        mask, word, bound = measure_values > hi, "above", hi
    idx = np.flatnonzero(mask)
    messages = [
        f"{ctx.level} {label(ctx.ids, ctx.names, int(i))} has {fmt(measure_values[i])} "
        f"{config.measure}, {word} the band {fmt(lo)}–{fmt(hi)} "
        f"(by {fmt(abs(measure_values[i] - bound))})"
        for i in idx
    ]
    return raw_findings(f"size.{side}", idx, measure_values[idx], messages, ctx.geoms[idx])


def _run(context: RuleContext, config: CheckConfig, side: str) -> RuleResult:
    values = context.measure_values
    if values is None:
        note = f"size not checked: no {config.measure} per {context.inputs.level} are known"
        return RuleResult(notes=(note,))
    return RuleResult(size_findings(context.inputs, config, values, side))


def _under(context: RuleContext, config: CheckConfig) -> RuleResult:
    return _run(context, config, "under")


def _over(context: RuleContext, config: CheckConfig) -> RuleResult:
    return _run(context, config, "over")


register(
    RuleSpec(
        id="size.under",
        severity="warning",
        order=10,
        label="under the size band",
        # outlines only (fill off), so clicks inside reach the community underneath
        style={"color": "#4575b4", "weight": 3, "fill": False, "dashArray": "10 4"},
        run=_under,
    )
)
register(
    RuleSpec(
        id="size.over",
        severity="warning",
        order=20,
        label="over the size band",
        style={"color": "#d73027", "weight": 3, "fill": False, "dashArray": "10 4"},
        run=_over,
    )
)
