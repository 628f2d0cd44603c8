"""``size.under`` / ``size.over``: households (or residents) against the level's band."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings


def size_findings(
    ctx: CheckContext, config: CheckConfig, measure_values: npt.NDArray[np.float64] | None
) -> pd.DataFrame:
    """One finding per area outside the band (areas with an unknown count are not judged).

    Parameters
    ----------
    ctx
        The check's inputs.
    config
        Gives the measure and the band of ``ctx.level``.
    measure_values
        The measure per area (``None`` when it is unknown for every area).
    """
    if measure_values is None:
        return no_findings()
    lo, hi = config.band(ctx.level)
    frames = []
    for rule, mask, word, bound in (
        ("size.under", measure_values < lo, "below", lo),
        ("size.over", measure_values > hi, "above", hi),
    ):
        idx = np.flatnonzero(mask)
        messages = [
            f"{ctx.level} {label(ctx.ids, ctx.names, int(i))} has {fmt(measure_values[i])} "
            f"{config.measure}, {word} the band {fmt(lo)}–{fmt(hi)} "
            f"(by {fmt(abs(measure_values[i] - bound))})"
            for i in idx
        ]
        frames.append(raw_findings(rule, idx, measure_values[idx], messages, ctx.geoms[idx]))
    return pd.concat(frames, ignore_index=True)
