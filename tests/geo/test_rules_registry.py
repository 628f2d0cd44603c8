"""The rule registry: every rule declared once, and a new rule flowing everywhere by itself.

The areas of these tests (metres, UTM 50N)::

    y=500 +--------+--------+
          |   a    |   b    |   a:   800 households (under the band 1000–3000)
          |        |        |   b: 2,000 households
    y=0   +--------+--------+
         x=0      500     1000

A throwaway rule ``scratch.wide`` (every area wider than 400 m, i.e. both) is registered for
one test at a time and unregistered afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridplan.geo.rules import (
    DEFAULT_BANDS,
    REGISTRY,
    RULES,
    CheckConfig,
    RuleContext,
    RuleResult,
    RuleSpec,
    check_areas,
    plan_findings,
)
from gridplan.geo.rules.config import DEFAULT_SEVERITIES
from gridplan.geo.rules.finding import raw_findings
from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import map_html, render_plan_map
from gridplan.maps.style import FINDING_STYLES, finding_label, finding_style

#: The rule ids of DESIGN.md ("Rule ids") that are implemented, in report order.
BUILT_IN = (
    "size.under",
    "size.over",
    "enclave.exclave",
    "enclave.embedded",
    "roads.off_road",
    "coverage.gap",
    "coverage.overlap",
    "compound.split",
    "compound.unassigned",
    "compound.override_violated",
    "reach.outside",
    "service.volunteers_short",
)

SCRATCH_STYLE = {"color": "#123456", "weight": 7, "fill": False, "dashArray": "1 9"}


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": ["a", "b"], "households": [800.0, 2000.0]},
        geometry=[shapely.box(0, 0, 500, 500), shapely.box(500, 0, 1000, 500)],
        crs=32650,
    )


def _wide(context: RuleContext, config: CheckConfig) -> RuleResult:
    """Every area wider than 400 m; value: its width; message: its households."""
    ctx = context.inputs
    bounds = shapely.bounds(ctx.geoms)
    width = bounds[:, 2] - bounds[:, 0]
    idx = np.flatnonzero(width > 400)
    households = context.households
    assert households is not None
    messages = [f"{ctx.ids[i]} is {width[i]:.0f} m wide ({households[i]:.0f} hh)" for i in idx]
    return RuleResult(
        raw_findings("scratch.wide", idx, width[idx], messages, ctx.geoms[idx]),
        notes=(f"scratch: {ctx.n} {ctx.level} areas measured",),
        ignored_slivers=3,
    )


def _spec(**changes: object) -> RuleSpec:
    fields: dict[str, object] = {
        "id": "scratch.wide",
        "severity": "error",
        "order": 15,
        "label": "wider than 400 m",
        "style": SCRATCH_STYLE,
        "run": _wide,
    }
    fields.update(changes)
    return RuleSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def scratch() -> Iterator[RuleSpec]:
    with REGISTRY.registered(_spec()) as spec:
        yield spec
    assert "scratch.wide" not in REGISTRY


def test_built_in_rules_in_report_order() -> None:
    assert tuple(REGISTRY) == BUILT_IN
    assert tuple(RULES) == BUILT_IN and RULES == BUILT_IN
    assert [s.order for s in REGISTRY.specs()] == sorted(s.order for s in REGISTRY.specs())
    assert DEFAULT_SEVERITIES["enclave.exclave"] == "error"
    assert DEFAULT_SEVERITIES["size.under"] == "warning"
    assert set(DEFAULT_BANDS) >= {("community", "households"), ("grid", "households")}


def test_every_built_in_rule_declares_a_distinct_style_and_a_label() -> None:
    specs = REGISTRY.specs()
    assert len({tuple(sorted(s.style.items())) for s in specs}) == len(specs)
    assert len({s.label for s in specs}) == len(specs)
    for spec in specs:
        assert finding_style(spec.id) == dict(spec.style)
        assert finding_label(spec.id) == spec.label
    assert finding_style("no.such_rule") not in [dict(s.style) for s in specs]
    assert finding_label("no.such_rule") == "no.such_rule"


def test_a_registered_rule_is_in_check_json_store_and_styles(scratch: RuleSpec) -> None:
    assert tuple(RULES) == (BUILT_IN[0], "scratch.wide", *BUILT_IN[1:])
    assert DEFAULT_SEVERITIES["scratch.wide"] == "error"
    assert CheckConfig().severities["scratch.wide"] == "error"
    assert FINDING_STYLES["scratch.wide"] == SCRATCH_STYLE
    assert finding_style("scratch.wide") == SCRATCH_STYLE
    assert finding_label("scratch.wide") == "wider than 400 m"

    report = check_areas(_areas())
    # size.under (order 10) comes before the new rule (15), each rule's rows by area
    assert report.findings["rule"].tolist() == ["size.under", "scratch.wide", "scratch.wide"]
    wide = report.findings[report.findings["rule"] == "scratch.wide"]
    assert wide["area_id"].tolist() == ["a", "b"]
    assert wide["severity"].tolist() == ["error", "error"]
    assert wide["level"].tolist() == ["community", "community"]
    assert wide["value"].tolist() == [500.0, 500.0]
    assert wide["message"].tolist() == ["a is 500 m wide (800 hh)", "b is 500 m wide (2000 hh)"]
    assert report.by_rule() == {"size.under": 1, "scratch.wide": 2}
    assert report.ignored_slivers["scratch.wide"] == 3
    assert "scratch: 2 community areas measured" in report.notes

    doc = report.to_json()
    assert doc["summary"]["by_rule"] == {"size.under": 1, "scratch.wide": 2}
    assert doc["summary"]["findings"] == 3
    assert doc["summary"]["ignored_slivers"]["scratch.wide"] == 3
    found = [f for f in doc["findings"] if f["rule"] == "scratch.wide"]
    assert [(f["area"], f["severity"], f["value"]) for f in found] == [
        ("a", "error", 500.0),
        ("b", "error", 500.0),
    ]
    assert found[0]["geometry"]["type"] == "Polygon"

    stored = plan_findings({"community": report})
    assert stored["rule"].tolist() == ["size.under", "scratch.wide", "scratch.wide"]
    assert stored.crs.to_epsg() == 4326
    assert report.findings_for_store()["rule"].tolist() == stored["rule"].tolist()

    # a jurisdiction's own severity wins over the declared default
    lenient = check_areas(_areas(), config=CheckConfig(severities={"scratch.wide": "warning"}))
    assert set(lenient.findings.loc[lenient.findings["rule"] == "scratch.wide", "severity"]) == {
        "warning"
    }
    # ... and rules it leaves out keep their registered severity
    assert lenient.findings.loc[0, "severity"] == "warning"


def test_a_registered_rule_is_drawn_and_in_the_map_legend(scratch: RuleSpec) -> None:
    areas = _areas()
    report = check_areas(areas)
    page = map_html(
        render_plan_map(
            MapLayers(communities=areas, findings=report.findings_for_store(), title="scratch")
        )
    )
    assert "Finding scratch.wide (2)" in page
    assert '"#123456"' in page and '"1 9"' in page  # the rule's own colour and dashes


def test_unregistered_rule_is_gone_everywhere() -> None:
    with REGISTRY.registered(_spec()):
        assert check_areas(_areas()).by_rule() == {"size.under": 1, "scratch.wide": 2}
    report = check_areas(_areas())
    assert report.by_rule() == {"size.under": 1}
    assert "scratch.wide" not in report.ignored_slivers
    assert "scratch.wide" not in RULES and "scratch.wide" not in FINDING_STYLES
    assert finding_style("scratch.wide") != SCRATCH_STYLE


def test_registered_rule_is_unregistered_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"), REGISTRY.registered(_spec()):
        raise RuntimeError("boom")
    assert "scratch.wide" not in REGISTRY
    assert tuple(REGISTRY) == BUILT_IN


def test_registering_an_id_twice_is_refused(scratch: RuleSpec) -> None:
    with pytest.raises(ValueError, match="registered already"):
        REGISTRY.register(_spec(order=99))
    with pytest.raises(ValueError, match="registered already"):
        REGISTRY.register(_spec(id="size.under"))
    assert REGISTRY["scratch.wide"] is scratch


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "wide"}, "group.name"),
        ({"id": "Scratch.Wide"}, "group.name"),
        ({"severity": "fatal"}, "severity must be one of error, warning"),
    ],
)
def test_malformed_specs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _spec(**changes)


def test_a_rule_returning_another_rules_findings_is_refused() -> None:
    def _liar(context: RuleContext, config: CheckConfig) -> RuleResult:
        ctx = context.inputs
        return RuleResult(raw_findings("size.over", [0], [1.0], ["x"], ctx.geoms[:1]))

    with REGISTRY.registered(_spec(run=_liar)), pytest.raises(ValueError, match=r"size\.over"):
        check_areas(_areas())


def test_shared_products_are_computed_once_and_on_demand() -> None:
    seen: list[int] = []

    def _pieces(context: RuleContext, config: CheckConfig) -> RuleResult:
        seen.append(id(context.boundary))
        return RuleResult()

    with (
        REGISTRY.registered(_spec(id="scratch.one", run=_pieces)),
        REGISTRY.registered(_spec(id="scratch.two", order=16, run=_pieces, style={})),
    ):
        report = check_areas(_areas())
    assert len(seen) == 2 and seen[0] == seen[1]
    # a rule that found nothing and noted nothing leaves no trace in the report
    assert report.by_rule() == {"size.under": 1}
    assert not any(n.startswith("scratch") for n in report.notes)


def test_a_rule_reads_a_column_of_its_own_from_the_areas() -> None:
    """A ``service.volunteers_short``-like rule needs no new input: the areas keep it."""

    def _short(context: RuleContext, config: CheckConfig) -> RuleResult:
        ctx = context.inputs
        volunteers = ctx.areas["volunteers"].to_numpy(dtype=float)
        residents = ctx.areas["households"].to_numpy(dtype=float) * 3.0
        idx = np.flatnonzero(volunteers < 0.08 * residents)
        messages = [f"{ctx.ids[i]}: {volunteers[i]:.0f} volunteers" for i in idx]
        return RuleResult(
            raw_findings("scratch.short", idx, volunteers[idx], messages, ctx.geoms[idx])
        )

    areas = _areas().assign(volunteers=[100.0, 500.0])  # 8 %: 192 of 2,400, 480 of 6,000
    with REGISTRY.registered(_spec(id="scratch.short", order=120, run=_short)):
        report = check_areas(areas)
        assert list(report.by_rule()) == ["size.under", "scratch.short"]
    short = report.findings[report.findings["rule"] == "scratch.short"]
    assert short["area_id"].tolist() == ["a"]
    assert short["message"].tolist() == ["a: 100 volunteers"]
