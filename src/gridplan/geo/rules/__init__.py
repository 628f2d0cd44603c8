"""The rule engine: check community and grid boundaries against policy.

:func:`check_areas` runs every rule of DESIGN.md ("Rule ids") on a set of polygons and
returns a :class:`CheckReport`; :class:`CheckConfig` holds the bands and tolerances;
:func:`check_plan_levels` checks every level of a plan against the plan's own targets.

The rules are a registry (:data:`REGISTRY`, see :mod:`gridplan.geo.rules.registry` for how to
add one): each rule module registers its rules when imported, and this package imports every
rule module below.
"""

from gridplan.geo.rules import (  # noqa: F401
    compounds,
    coverage,
    enclave,
    overrides,
    reach,
    roads,
    service,
    size,
)
from gridplan.geo.rules.config import DEFAULT_BANDS, RULES, CheckConfig
from gridplan.geo.rules.engine import check_areas
from gridplan.geo.rules.levels import CheckLayers, check_plan_levels, plan_findings
from gridplan.geo.rules.registry import REGISTRY, Rule, RuleResult, RuleSpec, register
from gridplan.geo.rules.report import CheckReport
from gridplan.geo.rules.rule_context import RuleContext

__all__ = [
    "DEFAULT_BANDS",
    "REGISTRY",
    "RULES",
    "CheckConfig",
    "CheckLayers",
    "CheckReport",
    "Rule",
    "RuleContext",
    "RuleResult",
    "RuleSpec",
    "check_areas",
    "check_plan_levels",
    "plan_findings",
    "register",
]
