"""Scenarios: scripted redistricting proposals, reproducible from a YAML file.

A scenario names a base plan, targets per level and ordered steps (assign a compound, move
units, merge, split, create a community, redistrict with minimal change, regrid). Running it
yields a new plan (its parent the base) and a report: before/after metrics per community and
what moved, and the new plan's check (:func:`gridplan.geo.rules.check_plan_levels`). Pure:
the caller loads the base and stores the result, the plan with its findings.
"""

from gridplan.geo.scenario.model import Scenario, load_scenario, parse_scenario
from gridplan.geo.scenario.report import COMMUNITY_COLUMNS, community_table, moves_table
from gridplan.geo.scenario.runner import ScenarioBase, ScenarioResult, StepLog, run_scenario

__all__ = [
    "COMMUNITY_COLUMNS",
    "Scenario",
    "ScenarioBase",
    "ScenarioResult",
    "StepLog",
    "community_table",
    "load_scenario",
    "moves_table",
    "parse_scenario",
    "run_scenario",
]
