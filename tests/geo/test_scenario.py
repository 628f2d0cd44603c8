"""Scenario steps on a hand-drawn lattice (pure: no store).

The toy subdistrict (not any real place) is 2 rows × 6 columns of 100 m units, 100 households
each; communities A (columns 0-1), B (2-3), C (4-5)::

    A A B B C C        u0  u1  u2  u3  u4  u5
    A A B B C C        u6  u7  u8  u9  u10 u11

Compound "Garden" sits inside u2 (column 2, row 0).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import box

from gridplan.errors import InputError, ScenarioError
from gridplan.geo.rules import check_plan_levels, plan_findings
from gridplan.geo.scenario import ScenarioBase, parse_scenario, run_scenario

COLS = 6


def _base(with_grids: bool = False) -> ScenarioBase:
    n = 2 * COLS
    geoms = [
        box((i % COLS) * 100, -(i // COLS) * 100, (i % COLS + 1) * 100, -(i // COLS) * 100 + 100)
        for i in range(n)
    ]
    units = gpd.GeoDataFrame(
        {"unit_id": [f"u{i}" for i in range(n)], "households": 100.0, "residents": 250.0},
        geometry=geoms,
        crs="EPSG:32650",
    )
    comm = np.array(["ABC"[(i % COLS) // 2] for i in range(n)], dtype=object)
    compounds = gpd.GeoDataFrame(
        {"compound_id": ["k1"], "name": ["Garden"], "households": [100.0]},
        geometry=[box(210, 10, 290, 90)],
        crs="EPSG:32650",
    )
    grids = np.array([f"{c}-1" for c in comm], dtype=object) if with_grids else None
    return ScenarioBase(
        units=units,
        communities=comm,
        grids=grids,
        compounds=compounds,
        parent_id=None,
        names={"A": "Alpha", "B": "Beta", "C": "Gamma"},
    )


def _scenario(steps: list[dict], **targets: object) -> object:
    return parse_scenario(
        {
            "name": "toy",
            "base": {"plan": "latest"},
            "targets": targets
            or {"community": {"households": [300, 500]}, "grid": {"households": [200, 200]}},
            "steps": steps,
        }
    )


def _labels(result: object) -> list[str]:
    return result.plan.assignments["community_id"].tolist()  # type: ignore[attr-defined]


def test_assign_compound_by_name_and_report() -> None:
    r = run_scenario(
        _scenario([{"action": "assign_compound", "compound": "Garden", "community": "Alpha"}]),
        _base(),
    )
    assert _labels(r)[2] == "A"
    assert r.moved.to_dict(orient="records") == [
        {"from": "B", "to": "A", "households": 100.0, "residents": 250.0, "units": 1}
    ]
    assert r.compounds_moved.to_dict(orient="records") == [
        {"compound": "Garden", "from": "B", "to": "A", "households": 100.0}
    ]
    after = r.after.set_index("community")
    assert after.loc["A", "households"] == 500 and after.loc["B", "households"] == 300
    assert (after["band"] == "ok").all()
    # No roads: no shared boundary follows a road; every community is one piece.
    assert (after["road_share"] == 0).all() and (after["parts"] == 1).all()
    assert r.plan.parent_id is None and r.steps[0].households_moved == 100


def test_move_units_makes_an_exclave_and_the_report_says_so() -> None:
    r = run_scenario(
        _scenario([{"action": "move_units", "units": ["u5"], "community": "A"}]), _base()
    )
    after = r.after.set_index("community")
    assert after.loc["A", "parts"] == 2 and after.loc["A", "households"] == 500
    assert after.loc["C", "band"] == "ok"


def test_merge_then_split_back_into_band() -> None:
    steps = [
        {"action": "merge", "communities": ["A", "Beta"], "into": "AB"},
        {"action": "split", "community": "AB", "into": ["West", "East"]},
    ]
    r = run_scenario(_scenario(steps), _base())
    after = r.after.set_index("community")
    assert set(after.index) == {"West", "East", "C"}
    assert after.loc["West", "households"] == 400 and after.loc["East", "households"] == 400
    assert (after["parts"] == 1).all()


def test_create_from_area_then_redistrict_minimal_change() -> None:
    """A new community from the box over columns 4-5 takes all of C; then C is gone and
    the redistrict keeps A and B (already in band): nothing else moves."""
    steps = [
        {
            "action": "create",
            "name": "New",
            "area": {"bbox": [400, -100, 600, 100], "crs": "EPSG:32650"},
        },
        {"action": "redistrict", "communities": "all"},
    ]
    r = run_scenario(_scenario(steps), _base())
    labels = _labels(r)
    assert labels[4] == labels[5] == labels[10] == labels[11] == "New"
    assert r.steps[1].households_moved == 0
    assert set(r.after["community"]) == {"A", "B", "New"}


def test_redistrict_fixes_an_undersized_community() -> None:
    """After moving u2, u3 to A (A: 600 > 500, B: 200 < 300) a redistrict restores the band
    and moves the fewest households back (at least 100)."""
    steps = [
        {"action": "move_units", "units": ["u2", "u3"], "community": "A"},
        {"action": "redistrict", "communities": ["A", "B"]},
    ]
    r = run_scenario(_scenario(steps), _base())
    assert (r.after["band"] == "ok").all()
    assert 100 <= r.steps[1].households_moved <= 200
    assert set(r.after["community"]) == {"A", "B", "C"}


def test_regrid_codes_grids_in_reading_order() -> None:
    r = run_scenario(_scenario([{"action": "regrid", "communities": ["A"]}]), _base())
    grids = r.plan.areas_at("grid")
    # grids are named by their codes: community A's code (001, the westmost) + a sequence
    assert sorted(grids["area_id"]) == sorted(grids["code"]) == ["001-001", "001-002"]
    assert (grids["households"] == 200).all()
    assert set(grids["parent_id"]) == {"A"}


def test_grids_that_span_communities_are_cleared() -> None:
    r = run_scenario(
        _scenario([{"action": "move_units", "units": ["u2"], "community": "A"}]),
        _base(with_grids=True),
    )
    grid = r.plan.assignments.set_index("unit_id")["grid_id"]
    assert grid["u2"] is None and grid["u0"] == "001-001"


@pytest.mark.parametrize(
    ("steps", "number", "action", "text"),
    [
        (
            [{"action": "assign_compound", "compound": "Nowhere", "community": "A"}],
            1,
            "assign_compound",
            "no compound 'Nowhere'",
        ),
        (
            [
                {"action": "merge", "communities": ["A", "B"]},
                {"action": "move_units", "units": ["u1"], "community": "B"},
            ],
            2,
            "move_units",
            "no community 'B'",
        ),
        ([{"action": "split", "community": "A", "parts": 3}], 1, "split", "can't hold"),
        ([{"action": "create", "name": "Alpha", "units": ["u1"]}], 1, "create", "already exists"),
    ],
)
def test_failing_step_names_step_and_reason(
    steps: list[dict], number: int, action: str, text: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        run_scenario(_scenario(steps), _base())
    assert info.value.step == number and info.value.action == action
    assert text in info.value.reason
    assert str(info.value).startswith(f"step {number} ({action}): ")


def test_bad_scenario_files_are_input_errors(tmp_path: object) -> None:
    with pytest.raises(InputError, match="steps"):
        parse_scenario({"name": "x", "base": {"plan": "latest"}, "steps": []})
    with pytest.raises(InputError, match="community_field"):
        parse_scenario({"name": "x", "base": {"units": "u.gpkg"}, "steps": [{"action": "regrid"}]})
    with pytest.raises(InputError, match=r"step 1 \(teleport\): unknown action; the actions"):
        parse_scenario({"name": "x", "base": {"plan": 1}, "steps": [{"action": "teleport"}]})


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        (
            [{"action": "regrid"}, {"action": "merge", "communities": ["A"]}],
            "step 2 (merge): communities: List should have at least 2 items",
        ),
        ([{"action": "split", "community": "A", "parts": 1}], "step 1 (split): parts: "),
        (
            [
                {"action": "regrid"},
                {"action": "regrid"},
                {"action": "assign_compound", "community": "A"},
            ],
            "step 3 (assign_compound): name a compound (compound: X) or compounds: [X, Y]",
        ),
        (
            [{"action": "create", "name": "N", "area": {}}],
            "step 1 (create): area: give exactly one",
        ),
        ([{"action": "regrid", "grids": 2}], "step 1 (regrid): grids: Extra inputs"),
        ([{"community": "A"}], "step 1: no action; the actions are assign_compound, move_units"),
        (["regrid"], "step 1: Input should be a valid dictionary"),
    ],
)
def test_parse_errors_number_steps_from_1_with_their_action(steps: list, problem: str) -> None:
    """The numbers of parse errors are the numbers a run reports (``step N (action)``, N from
    1), not pydantic's 0-based ``steps.0`` locations."""
    with pytest.raises(InputError) as info:
        parse_scenario({"name": "x", "base": {"plan": 1}, "steps": steps})
    message = str(info.value)
    assert message.startswith("scenario: ") and problem in message, message
    assert "steps." not in message and "Value error" not in message


def test_parse_and_run_errors_give_a_step_the_same_number() -> None:
    steps = [
        {"action": "move_units", "units": ["u0"], "community": "B"},
        {"action": "move_units", "units": ["nowhere"], "community": "A"},
    ]
    with pytest.raises(ScenarioError, match=r"^step 2 \(move_units\): "):
        run_scenario(_scenario(steps), _base())
    steps[1]["units"] = []
    with pytest.raises(InputError, match=r"step 2 \(move_units\): units: "):
        _scenario(steps)


def test_a_negative_seed_is_an_input_error() -> None:
    """numpy's generators refuse negative seeds: the file is refused up front, as over HTTP."""
    with pytest.raises(InputError, match="seed must be a non-negative integer, not -1"):
        parse_scenario(
            {"name": "x", "base": {"plan": 1}, "seed": -1, "steps": [{"action": "regrid"}]}
        )


def test_regrid_keeps_an_oversized_unit_whole_and_says_why() -> None:
    """u0 holds 500 households, above the grid ceiling of 200: it becomes a grid of its own,
    the rest of A (u1, u6, u7: 300) makes what grids it can, and the step says why."""
    base = _base()
    base.units.loc[0, "households"] = 500.0
    r = run_scenario(_scenario([{"action": "regrid", "communities": ["A"]}]), base)
    grid = r.plan.assignments.set_index("unit_id")["grid_id"]
    assert grid["u0"] not in {grid["u1"], grid["u6"], grid["u7"]}
    assert "alone holds 500" in r.steps[0].summary


def test_new_plan_is_checked_with_its_own_targets() -> None:
    """Moving u5 to A leaves A in two pieces (u5 is cut off by C) at 500 households, the top
    of the 300–500 band::

        A A B B C A
        A A B B C C

    The result carries the check of the new plan, against its own band and the base's
    units and compounds, with its findings ready to store (EPSG:4326)."""
    base = _base()
    r = run_scenario(_scenario([{"action": "move_units", "units": ["u5"], "community": "A"}]), base)
    assert set(r.checks) == {"community"}  # no grids in the plan
    community = r.checks["community"]
    assert community.band == (300.0, 500.0) and community.measure == "households"
    assert {(f.rule, f.area_id) for f in community.findings.itertuples()} == {
        ("enclave.exclave", "A")
    }
    again = plan_findings(check_plan_levels(r.plan, base.check_layers()))
    assert r.findings.crs == again.crs == "EPSG:4326"
    pd.testing.assert_frame_equal(
        pd.DataFrame(r.findings.drop(columns="geometry")),
        pd.DataFrame(again.drop(columns="geometry")),
    )
    assert r.findings.geometry.geom_equals_exact(again.geometry, tolerance=1e-12).all()


def test_a_residents_band_checks_the_plan_by_residents() -> None:
    """With a residents band only, the new plan's targets name just that band (they used to
    carry ``households: null``, which the check refused as a malformed band). A takes u5:
    5 × 250 = 1250 residents, over 600–1200."""
    r = run_scenario(
        _scenario(
            [{"action": "move_units", "units": ["u5"], "community": "A"}],
            community={"residents": [600, 1200]},
        ),
        _base(),
    )
    assert r.plan.targets == {
        "community": {"residents": [600.0, 1200.0]},
        "grid": {"households": [300.0, 500.0]},
    }
    community = r.checks["community"]
    assert community.measure == "residents" and community.band == (600.0, 1200.0)
    rules = {(f.rule, f.area_id, f.value) for f in r.findings.itertuples()}
    assert ("size.over", "A", 1250.0) in rules and ("enclave.exclave", "A") in {
        (rule, area) for rule, area, _ in rules
    }
