"""The map bands of a check configuration.

What a map draws is gathered by the application layer (:mod:`gridplan.ops.maps`), which
checks plans with the one check every adapter shares.
"""

from __future__ import annotations

from gridplan.errors import InputError
from gridplan.geo.rules import CheckConfig
from gridplan.maps.style import Band
from gridplan.plan import Level


def config_bands(config: CheckConfig) -> dict[str, Band]:
    """The map bands of a check configuration (levels without a band in its measure are left
    out)."""
    out: dict[str, Band] = {}
    for level in (Level.COMMUNITY, Level.GRID):
        try:
            lo, hi = config.band(level)
        except InputError:
            continue
        out[level.value] = Band(lo, hi, config.measure)
    return out
