"""The rule engine: check community and grid boundaries against policy.

:func:`check_areas` runs every rule of DESIGN.md ("Rule ids") on a set of polygons and
returns a :class:`CheckReport`; :class:`CheckConfig` holds the bands and tolerances;
:func:`check_plan_levels` checks every level of a plan against the plan's own targets.
"""

from gridplan.geo.rules.config import DEFAULT_BANDS, RULES, CheckConfig
from gridplan.geo.rules.engine import check_areas
from gridplan.geo.rules.levels import CheckLayers, check_plan_levels, plan_findings
from gridplan.geo.rules.report import CheckReport

__all__ = [
    "DEFAULT_BANDS",
    "RULES",
    "CheckConfig",
    "CheckLayers",
    "CheckReport",
    "check_areas",
    "check_plan_levels",
    "plan_findings",
]
