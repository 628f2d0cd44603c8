"""Edit a plan unit by unit and recheck only what the edit touched (pure: no store, no web).

An edit is a list of moves, each a unit and the community it goes to (an id, a code or a
name of the plan, or a new name: a new community). :class:`EditBase` holds a plan prepared
for edits: its units, their community and grid, and the check of every area of the base,
cached per area. :meth:`EditBase.preview` applies moves and rechecks, at each level, only
the areas the moves touched and their neighbours, with the same rule engine as every check
(:func:`gridplan.geo.rules.check_areas`); every other area keeps its cached result.
:meth:`EditBase.edited_plan` builds the edited plan itself (for storing, and for a full recheck
with :func:`gridplan.geo.rules.check_plan_levels`, which the incremental one matches).

Why the incremental check is exact
----------------------------------
An edit reassigns units, so only the areas ``T`` that lost or gained a unit change shape,
and the union of all areas does not change. Every rule finds what it finds for an area from
that area, the areas within the sliver width of it, and the compounds it overlaps. So the
findings of the areas ``S`` = ``T`` + their neighbours + the areas sharing a compound with
them are recomputed on a *context* of ``S`` + their neighbours + the areas sharing a
compound with them, with the whole plan's outline and the roads, compounds and units that
lie there; findings of every other area are the base's. Findings attached to no area
(``compound.unassigned``) are recomputed when they lie in ``S``. Gaps depend on the union
of all areas: the base's are kept, and a gap within the sliver width of ``T`` (or a plan
that is not an exact coverage) makes the check of that level a full one. The tests compare
the result with a full recheck on every move.

The grid of a moved unit: the grid of the target community it shares the longest boundary
with (moved units next to each other follow each other), else a new grid of the target
community; a grid left without units disappears.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from gridplan.data.crs import STORAGE_CRS, metric_crs, to_storage
from gridplan.data.layers import LayerKind
from gridplan.errors import InputError, NotFoundError
from gridplan.geo.plans import area_texts, dissolve_units, plan_from_units
from gridplan.geo.rules import CheckConfig, CheckLayers, check_areas
from gridplan.geo.rules.context import checked_layer
from gridplan.geo.rules.levels import stored_areas
from gridplan.plan import Level, Plan

ObjArray = npt.NDArray[np.object_]

#: Rules whose findings depend on the union of all areas, not on an area and its neighbours.
UNION_RULES: tuple[str, ...] = ("coverage.gap",)


@dataclass(frozen=True)
class Move:
    """One unit to move.

    Parameters
    ----------
    unit
        The unit id.
    to
        The target community: an id, a code or a name of the plan, or a new name.
    new
        ``True``: ``to`` must be a new community; ``False``: it must be one of the plan's;
        ``None`` (default): a new community when it names none of the plan's.
    """

    unit: str
    to: str
    new: bool | None = None


@dataclass(frozen=True)
class LevelCheck:
    """The check of one level of a plan, per area.

    Attributes
    ----------
    level
        ``community`` or ``grid``.
    measure, band
        What the size band counts and the band (``None`` when unknown).
    areas
        One row per area, by id: ``id``, ``code``, ``name``, ``parent_id`` (a grid's
        community), ``units``, the metrics of
        :data:`~gridplan.geo.rules.metrics.AREA_METRIC_COLUMNS` (``households``,
        ``residents``, ``road_boundary_share``, ``parts``, ``polsby_popper``), ``in_band``
        (``None`` when unknown), ``embedded``, ``findings`` (count), ``changed``, ``new``.
    findings
        The findings (:data:`~gridplan.data.layers.FINDING_COLUMNS`, EPSG:4326).
    incremental
        Whether only the touched areas were rechecked.
    rechecked
        The ids of the areas whose results were recomputed.
    """

    level: str
    measure: str
    band: tuple[float, float] | None
    areas: pd.DataFrame
    findings: gpd.GeoDataFrame
    incremental: bool = True
    rechecked: tuple[str, ...] = ()


@dataclass(frozen=True)
class EditPreview:
    """An edit applied to a base plan and checked (nothing stored).

    Attributes
    ----------
    community, grid
        Each unit's community and grid after the moves (aligned with :attr:`EditBase.units`).
    names, codes
        Community names and codes by id (new communities included).
    grid_codes
        Grid codes by id (new grids have none).
    checks
        The check per level, ``community`` first.
    moved
        The units that changed community (their positions).
    new_communities
        Ids of the communities the moves created.
    touched
        Ids of the areas that changed, per level.
    """

    community: ObjArray
    grid: ObjArray
    names: Mapping[str, str]
    codes: Mapping[str, str]
    grid_codes: Mapping[str, str]
    checks: Mapping[str, LevelCheck]
    moved: npt.NDArray[np.int64]
    new_communities: tuple[str, ...]
    touched: Mapping[str, tuple[str, ...]]

    @property
    def findings(self) -> gpd.GeoDataFrame:
        """Every level's findings, ``community`` first."""
        frames = [c.findings for c in self.checks.values()]
        return gpd.GeoDataFrame(
            pd.concat(frames, ignore_index=True), geometry="geometry", crs=STORAGE_CRS
        )

    @property
    def incremental(self) -> bool:
        """Whether every level was checked incrementally."""
        return all(c.incremental for c in self.checks.values())


@dataclass
class _LevelState:
    """A level of the base: its areas as checked, per-area results, spatial index."""

    level: Level
    config: CheckConfig
    crs: CRS
    ids: list[str]
    geoms: dict[str, Any]  # area id -> geometry in ``crs`` (stored form)
    stored: dict[str, Any]  # area id -> geometry in EPSG:4326 (stored form)
    rows: pd.DataFrame  # the base's area metrics, by id
    findings: gpd.GeoDataFrame  # the base's findings, with "_geom_m" in ``crs``
    outline: gpd.GeoDataFrame | None  # the outline every scoped check is given
    exact_coverage: bool
    invalid: set[str]  # areas not matching their neighbours exactly (no exact coverage)
    measure: str
    band: tuple[float, float] | None
    notes: tuple[str, ...] = ()


class EditBase:
    """A plan prepared for edits: units, assignment, and the per-area check of the base.

    Parameters
    ----------
    plan
        The base plan (with unit assignments).
    units
        The units it assigns (``unit_id``, ``households``, ``residents``; any CRS).
    layers
        The layers the plan is checked against (roads, compounds, outline, units), as
        :func:`gridplan.ops.layers.read_check_layers` gives them for a stored plan.

    Raises
    ------
    InputError
        If the plan has no unit assignments (a drawn plan) or assigns units ``units`` lacks.

    Examples
    --------
    Four unit squares in a row, two communities of two::

        +----+----+----+----+
        | u1 | u2 | u3 | u4 |    300 households each
        +----+----+----+----+
          a    a    b    b

    >>> import geopandas as gpd, shapely
    >>> from gridplan.geo.plans import plan_from_units
    >>> units = gpd.GeoDataFrame(
    ...     {"unit_id": ["u1", "u2", "u3", "u4"], "households": [300.0] * 4,
    ...      "residents": [900.0] * 4},
    ...     geometry=[shapely.box(i * 100, 0, i * 100 + 100, 100) for i in range(4)],
    ...     crs=32650)
    >>> plan = plan_from_units(units, ["a", "a", "b", "b"], name="p",
    ...                        targets={"community": {"households": [500, 700]}})
    >>> base = EditBase(plan, units)
    >>> preview = base.preview([Move("u2", "b")])
    >>> preview.checks["community"].areas[["id", "households", "in_band"]].values.tolist()
    [['a', 300.0, False], ['b', 900.0, False]]
    >>> sorted(preview.checks["community"].findings["rule"])
    ['size.over', 'size.under']
    """

    def __init__(
        self, plan: Plan, units: gpd.GeoDataFrame, layers: CheckLayers | None = None
    ) -> None:
        if plan.assignments.empty:
            raise InputError(
                f"plan {plan.plan_id or plan.name!r} has no unit assignments (a drawn plan): "
                "only plans made of units can be edited"
            )
        self.plan = plan
        # normalised and validated once here, not on every live check
        self.layers = _checked_layers(layers if layers is not None else CheckLayers(units=units))
        assigned = plan.assignments.drop_duplicates("unit_id").set_index("unit_id")
        ids = units["unit_id"].astype(str)
        missing = sorted(set(assigned.index.astype(str)) - set(ids))
        if missing:
            raise InputError(
                f"plan {plan.plan_id or plan.name!r} assigns {len(missing)} unit(s) the units "
                f"layer lacks (e.g. {', '.join(missing[:3])})"
            )
        keep = ids.isin(assigned.index.astype(str)).to_numpy()
        self.units = to_storage(units[keep].reset_index(drop=True), "units")
        self.unit_ids = self.units["unit_id"].astype(str).to_numpy(dtype=object)
        self.unit_index = {str(u): i for i, u in enumerate(self.unit_ids)}
        row = assigned.reindex(self.unit_ids)
        self.community = _texts(row["community_id"])
        grids = _texts(row["grid_id"])
        self.has_grids = bool(pd.notna(pd.Series(grids, dtype=object)).any())
        self.grid = grids
        com_areas = plan.areas_at(Level.COMMUNITY)
        self.names = area_texts(com_areas, "name")
        self.codes = area_texts(com_areas, "code")
        grid_areas = plan.areas_at(Level.GRID)
        self.grid_codes = area_texts(grid_areas, "code") if len(grid_areas) else {}
        self.households = pd.to_numeric(self.units["households"], errors="coerce").to_numpy(
            dtype=float
        )
        self.crs = metric_crs(self.units, "units")
        self.metric = np.asarray(self.units.to_crs(self.crs).geometry.values, dtype=object)
        self.tree = shapely.STRtree(self.metric)
        self._compounds = self._compound_geoms()
        self._roads = _indexed(self.layers.roads, self.crs)
        self._compound_index = _indexed(self.layers.compounds, self.crs)
        self._check_units = (
            self.layers.units["unit_id"].astype(str).to_numpy(dtype=object)
            if self.layers.units is not None and len(self.layers.units)
            else None
        )
        self._shape_cache: dict[tuple[str, str, bytes], Any] = {}
        self._resident_counts = self._residents()
        names = (Level.COMMUNITY, Level.GRID) if self.has_grids else (Level.COMMUNITY,)
        #: The base's check per level, prepared on first use (the grids only when asked).
        self.levels: Mapping[str, _LevelState] = _Levels(self, names)
        self.levels["community"]

    # -- public ------------------------------------------------------------------------
    def resolve(self, ref: str) -> str | None:
        """The id of the community ``ref`` names (id, code or name), ``None`` for none.

        Raises
        ------
        InputError
            If ``ref`` is empty or a name or code several communities share.
        """
        ref = str(ref).strip()
        if not ref:
            raise InputError("a move's 'to' is empty: give a community id, code or new name")
        current = set(self.levels["community"].ids)
        if ref in current:
            return ref
        for kind, table in (("code", self.codes), ("name", self.names)):
            hits = sorted(c for c in current if table.get(c) == ref)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InputError(
                    f"community {kind} {ref!r} is ambiguous (ids {', '.join(hits)}): use an id"
                )
        return None

    def assign(self, moves: Sequence[Move]) -> tuple[ObjArray, dict[str, str], tuple[str, ...]]:
        """The community of each unit after ``moves``, the names (new ones added) and the
        ids of the new communities.

        Raises
        ------
        NotFoundError
            If a unit is not in the plan, or a move with ``new=False`` names no community.
        InputError
            If ``to`` is empty or ambiguous, or ``new=True`` names an existing community.
        """
        community = self.community.copy()
        names = dict(self.names)
        new: list[str] = []
        for k, move in enumerate(moves, start=1):
            unit = str(move.unit)
            if unit not in self.unit_index:
                raise NotFoundError(f"move {k}: no unit {unit!r} in plan {self._label()}")
            target = self.resolve(move.to)
            if target is None:
                if move.new is False:
                    raise NotFoundError(
                        f"move {k}: no community {move.to!r} in plan {self._label()}"
                    )
                target = str(move.to).strip()
                if target not in new:
                    new.append(target)
                    names[target] = target
            elif move.new is True:
                raise InputError(
                    f"move {k}: {move.to!r} is an existing community ({target}), not a new one"
                )
            community[self.unit_index[unit]] = target
        return community, names, tuple(new)

    def preview(
        self,
        moves: Sequence[Move],
        *,
        incremental: bool = True,
        levels: Sequence[Level | str] = (Level.COMMUNITY,),
    ) -> EditPreview:
        """Apply ``moves`` and check the result (the base is not changed).

        Parameters
        ----------
        moves
            The moves, in order (a unit moved twice ends where its last move puts it).
        incremental
            Recheck only the touched areas (default); ``False`` rechecks every area.
        levels
            The levels to check (default the communities: the live check of an editor; a
            saved edit is checked at every level). Grids are reassigned either way.

        Raises
        ------
        NotFoundError, InputError
            As :meth:`assign`.
        """
        community, names, new = self.assign(moves)
        moved = np.flatnonzero(_changed(self.community, community))
        grid = self._regrid(community, moved) if self.has_grids else self.grid.copy()
        codes = {**self.codes, **self._new_codes(new)}
        labels = {"community": community, "grid": grid}
        checks: dict[str, LevelCheck] = {}
        touched: dict[str, tuple[str, ...]] = {}
        wanted = {Level(lv).value for lv in levels}
        for name in self.levels:
            if name not in wanted:
                continue
            state = self.levels[name]
            base_labels = self.community if name == "community" else self.grid
            t = _touched(base_labels, labels[name])
            touched[name] = tuple(sorted(t))
            area_names = names if name == "community" else self.grid_codes
            parents = None if name == "community" else _parents(labels["grid"], labels["community"])
            check = self._check_level(
                state, labels[name], t, area_names, parents, incremental=incremental
            )
            checks[name] = _described(
                check,
                labels[name],
                names=area_names,
                codes=codes if name == "community" else self.grid_codes,
                parents=parents,
                touched=t,
                new=set(new) if name == "community" else set(t) - set(state.ids),
            )
        return EditPreview(
            community=community,
            grid=grid,
            names=names,
            codes=codes,
            grid_codes=dict(self.grid_codes),
            checks=checks,
            moved=moved.astype(np.int64),
            new_communities=new,
            touched=touched,
        )

    def edited_plan(
        self,
        preview: EditPreview,
        *,
        name: str | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> Plan:
        """The edited plan (not stored): parent = the base, its targets, names and codes."""
        moved_hh = float(np.nansum(self.households[preview.moved]))
        return plan_from_units(
            self.units,
            preview.community,
            preview.grid if self.has_grids else None,
            name=name or f"{self.plan.name} (edited)",
            targets=self.plan.targets,
            metrics={
                "units_moved": len(preview.moved),
                "households_moved": moved_hh,
                "new_communities": list(preview.new_communities),
                **dict(metrics or {}),
            },
            source=f"edit:plan {self._label()}",
            parent_id=self.plan.plan_id,
            community_names={c: preview.names.get(c, c) for c in _present(preview.community)},
            community_codes={
                c: preview.codes[c] for c in _present(preview.community) if c in preview.codes
            },
            grid_codes={
                g: preview.grid_codes[g] for g in _present(preview.grid) if g in preview.grid_codes
            },
        )

    def affected_grids(self, preview: EditPreview) -> pd.DataFrame:
        """The grids an edit changed: one row per grid that lost or gained units.

        Columns ``id``, ``code``, ``community`` (after; before for a removed grid),
        ``units_before``, ``units_after``, ``households_before``, ``households_after``,
        ``in_band`` (after, by the plan's grid band; ``None`` when removed or unknown) and
        ``status`` (``changed``, ``new`` or ``removed``). Empty for a plan without grids.
        """
        cols = [
            "id",
            "code",
            "community",
            "units_before",
            "units_after",
            "households_before",
            "households_after",
            "in_band",
            "status",
        ]
        if not self.has_grids:
            return pd.DataFrame(columns=cols)
        changed = _changed(self.grid, preview.grid)
        ids = sorted(
            {str(g) for g in np.concatenate([self.grid[changed], preview.grid[changed]]) if g}
        )
        config = CheckConfig.from_targets(self.plan.targets, Level.GRID)
        lo, hi = config.band(Level.GRID)
        values = self.households if config.measure == "households" else self._residents()

        def totals(labels: ObjArray) -> tuple[pd.Series, pd.Series]:
            frame = pd.DataFrame({"g": labels, "v": values})
            frame = frame[frame["g"].notna()].astype({"g": str})
            return frame.groupby("g")["v"].sum(min_count=1), frame.groupby("g").size()

        hh_b, n_b = totals(self.grid)
        hh_a, n_a = totals(preview.grid)
        com_after = _parents(preview.grid, preview.community)
        com_before = _parents(self.grid, self.community)
        rows = []
        for g in ids:
            before, after = int(n_b.get(g, 0)), int(n_a.get(g, 0))
            value = hh_a.get(g, np.nan) if after else np.nan
            rows.append(
                [
                    g,
                    self.grid_codes.get(g),
                    com_after.get(g) if after else com_before.get(g),
                    before,
                    after,
                    float(hh_b.get(g, 0.0)) if before else 0.0,
                    float(hh_a.get(g, 0.0)) if after else 0.0,
                    None if not after or pd.isna(value) else bool(lo <= value <= hi),
                    "new" if not before else ("removed" if not after else "changed"),
                ]
            )
        return pd.DataFrame(rows, columns=cols)

    def _residents(self) -> npt.NDArray[np.float64]:
        if "residents" not in self.units.columns:
            return np.full(len(self.units), np.nan)
        return pd.to_numeric(self.units["residents"], errors="coerce").to_numpy(dtype=float)

    # -- preparation -----------------------------------------------------------------------
    def _label(self) -> str:
        return str(self.plan.plan_id) if self.plan.plan_id is not None else repr(self.plan.name)

    def _compound_geoms(self) -> tuple[gpd.GeoDataFrame | None, shapely.STRtree | None]:
        comp = self.layers.compounds
        if comp is None or len(comp) == 0:
            return None, None
        metric = comp.to_crs(self.crs).reset_index(drop=True)
        return metric, shapely.STRtree(np.asarray(metric.geometry.values, dtype=object))

    def _prepare_level(self, level: Level, labels: ObjArray) -> _LevelState:
        config = CheckConfig.from_targets(self.plan.targets, level)
        dissolved = self._dissolve(labels, None)
        crs = metric_crs(dissolved, f"{level.value} areas")
        metric = dissolved.to_crs(crs)
        ids = [str(a) for a in dissolved["area_id"]]
        geoms = dict(zip(ids, np.asarray(metric.geometry.values, dtype=object), strict=True))
        stored = dict(zip(ids, np.asarray(dissolved.geometry.values, dtype=object), strict=True))
        outline = self.layers.outline
        if outline is None or len(outline) == 0:
            outline = None
        invalid = _invalid(np.asarray(list(geoms.values()), dtype=object))
        exact = not invalid.any()
        state = _LevelState(
            level=level,
            config=config,
            crs=crs,
            ids=ids,
            geoms=geoms,
            stored=stored,
            rows=pd.DataFrame(),
            findings=gpd.GeoDataFrame(),
            outline=outline,
            exact_coverage=exact,
            invalid={a for a, flag in zip(ids, invalid, strict=True) if flag},
            measure=config.measure,
            band=None,
        )
        names = self.names if level is Level.COMMUNITY else self.grid_codes
        parents = None if level is Level.COMMUNITY else _parents(self.grid, self.community)
        report = self._run(state, ids, names, parents, geoms, labels, outline=outline)
        state.rows = report.areas.set_index("id", drop=False)
        state.findings = _with_metric(report.findings, crs)
        state.band = report.band
        state.notes = report.notes
        if outline is None:
            state.outline = _derived_outline(state, config)
        return state

    def _dissolve(self, labels: ObjArray, only: set[str] | None) -> gpd.GeoDataFrame:
        """Stored-form areas of ``labels`` (all, or only the ids in ``only``)."""
        if only is not None:
            mask = _isin(labels, only)
            units, labs = self.units[mask], labels[mask]
        else:
            units, labs = self.units, labels
        if len(units) == 0:
            return gpd.GeoDataFrame(
                {"area_id": [], "households": [], "residents": [], "units": []},
                geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
                crs=STORAGE_CRS,
            )
        return stored_areas(dissolve_units(units, labs), "areas")

    def _shapes(self, state: _LevelState, labels: ObjArray, ids: set[str]) -> dict[str, Any]:
        """The geometry (metric CRS) of the areas ``ids`` of ``labels``, dissolved as
        :func:`~gridplan.geo.plans.plan_from_units` dissolves them; an area made of the same
        units as in an earlier preview (undo, redo, further moves) is not dissolved again."""
        out: dict[str, Any] = {}
        keys: dict[str, tuple[str, str, bytes]] = {}
        for a in sorted(ids):
            members = np.flatnonzero(labels == a)
            if len(members) == 0:
                continue
            key = (state.level.value, a, members.astype(np.int64).tobytes())
            hit = self._shape_cache.get(key)
            if hit is not None:
                out[a] = hit
            else:
                keys[a] = key
        if keys:
            fresh = self._dissolve(labels, set(keys))
            metric = np.asarray(fresh.to_crs(state.crs).geometry.values, dtype=object)
            if len(self._shape_cache) > 4096:
                self._shape_cache.clear()
            for a, geom in zip((str(x) for x in fresh["area_id"]), metric, strict=True):
                out[a] = geom
                self._shape_cache[keys[a]] = geom
        return out

    # -- checking --------------------------------------------------------------------------
    def _run(
        self,
        state: _LevelState,
        ids: Sequence[str],
        names: Mapping[str, str],
        parents: Mapping[str, str | None] | None,
        geoms: Mapping[str, Any],
        labels: ObjArray,
        *,
        outline: gpd.GeoDataFrame | None,
        box: Any = None,
        unit_areas: set[str] | None = None,
    ) -> Any:
        """``check_areas`` on the areas ``ids`` (in the level's metric CRS); with ``box``,
        on the layers near it only, and the units of ``unit_areas`` only."""
        order = sorted(ids)
        wanted = set(order)
        in_scope = _isin(labels, wanted)
        hh = _sums(self.households, labels, in_scope)
        res = _sums(self._resident_counts, labels, in_scope)
        areas = gpd.GeoDataFrame(
            {
                "area_id": order,
                "name": [names.get(a, a) for a in order],
                "households": [hh.get(a, np.nan) for a in order],
                "residents": [res.get(a, np.nan) for a in order],
            },
            geometry=[geoms[a] for a in order],
            crs=state.crs,
        )
        layers = self.layers
        if box is not None:
            keep = _isin(labels, unit_areas or set())
            layers = self._layers_near(box, keep)
        # every layer a check takes, by its CheckLayers name (as check_plan_levels passes them)
        given = {
            f.name: getattr(layers, f.name)
            if getattr(layers, f.name) is not None and len(getattr(layers, f.name))
            else None
            for f in fields(CheckLayers)
        }
        given["outline"] = outline
        return check_areas(areas, level=state.level, config=state.config, **given)

    def _layers_near(self, box: Any, in_scope: npt.NDArray[np.bool_]) -> CheckLayers:
        """The check layers cut down to what can matter inside ``box`` (metric CRS): whole
        roads and compounds near it, the units of the areas checked."""
        given = self.layers
        units = None
        if given.units is not None and self._check_units is not None and in_scope.any():
            wanted = pd.Index(self.unit_ids[in_scope])
            units = given.units[pd.Index(self._check_units).isin(wanted)]
        return replace(
            given,
            roads=_near(given.roads, self._roads, box),
            compounds=_near(given.compounds, self._compound_index, box),
            units=units,
        )

    def _check_level(
        self,
        state: _LevelState,
        labels: ObjArray,
        touched: set[str],
        names: Mapping[str, str],
        parents: Mapping[str, str | None] | None,
        *,
        incremental: bool,
    ) -> LevelCheck:
        present = _present(labels)
        geoms = {a: state.geoms[a] for a in present if a not in touched}
        geoms.update(self._shapes(state, labels, touched))
        if not touched:
            return self._as_check(state, state.rows, state.findings, present, names, parents)
        if incremental:
            result = self._scoped(state, labels, touched, geoms, names, parents, present)
            if result is not None:
                return result
        report = self._run(
            state, present, names, parents, geoms, labels, outline=self.layers.outline
        )
        return self._as_check(
            state,
            report.areas.set_index("id", drop=False),
            _with_metric(report.findings, state.crs),
            present,
            names,
            parents,
            incremental=False,
            rechecked=tuple(sorted(present)),
        )

    def _scoped(
        self,
        state: _LevelState,
        labels: ObjArray,
        touched: set[str],
        geoms: Mapping[str, Any],
        names: Mapping[str, str],
        parents: Mapping[str, str | None] | None,
        present: list[str],
    ) -> LevelCheck | None:
        """The incremental check, or ``None`` when it cannot be exact (then a full one)."""
        tol = state.config.sliver_width
        ids = list(geoms)
        arr = np.asarray([geoms[a] for a in ids], dtype=object)
        tree = shapely.STRtree(arr)
        index = {a: i for i, a in enumerate(ids)}
        changed = np.asarray(
            [geoms[a] for a in touched if a in geoms]
            + [state.geoms[a] for a in touched if a in state.geoms],
            dtype=object,
        )
        # a gap next to a changed area may change how it is attributed: check it all
        gaps = state.findings[state.findings["rule"].isin(UNION_RULES)]
        if len(gaps) and _near_any(gaps, changed, tol).any():
            return None
        t_idx = [index[a] for a in touched if a in index]
        scope = self._grow(tree, arr, t_idx, tol)
        context = self._grow(tree, arr, sorted(scope), tol)
        scope_ids = {ids[i] for i in scope}
        context_ids = [ids[i] for i in sorted(context)]
        # The rules read neighbours differently on an exact coverage: the context must be
        # one exactly when the whole edited plan is (validity is per area and neighbours).
        bad = _invalid(arr[sorted(context)])
        context_exact = not bad.any()
        whole_exact = not (state.invalid - scope_ids - touched) and not any(
            flag for a, flag in zip(context_ids, bad, strict=True) if a in scope_ids
        )
        if context_exact != whole_exact:
            return None
        bounds = shapely.bounds(arr[sorted(context)])
        margin = 2 * state.config.road_tolerance + tol
        box = shapely.box(
            bounds[:, 0].min() - margin,
            bounds[:, 1].min() - margin,
            bounds[:, 2].max() + margin,
            bounds[:, 3].max() + margin,
        )
        # units count the households of detached parts: only those of scope areas in more
        # than one part matter (the other areas' counts are their own column)
        multi = {a for a in scope_ids if shapely.get_num_geometries(geoms[a]) > 1}
        # compound.split reads the units inside a compound (whose cells went where): the
        # units of every context area sharing a compound with the scope
        comp, ctree = self._compounds
        if comp is not None and ctree is not None:
            _, hit = ctree.query(arr[sorted(scope)], predicate="dwithin", distance=tol)
            if len(hit):
                cgeoms = np.asarray(comp.geometry.values, dtype=object)[np.unique(hit)]
                _, sharing = tree.query(cgeoms, predicate="intersects")
                multi |= {ids[i] for i in np.unique(sharing).tolist() if i in context}
        report = self._run(
            state,
            context_ids,
            names,
            parents,
            geoms,
            labels,
            outline=state.outline,
            box=box,
            unit_areas=multi,
        )
        fresh = _with_metric(report.findings, state.crs)
        region = arr[sorted(scope)]
        base = state.findings
        base_near = _near_any(base, region, tol)
        base_area = base["area_id"].astype(object)
        keep_base = (
            ~base_area.isin(sorted(scope_ids | touched)).to_numpy()
            & ~(base_area.isna().to_numpy() & base_near)
            & ~base["area_id"].isin(sorted(set(state.ids) - set(present))).to_numpy()
        )
        fresh_area = fresh["area_id"].astype(object)
        take = (
            fresh_area.isin(sorted(scope_ids)).to_numpy()
            | (fresh_area.isna().to_numpy() & _near_any(fresh, region, tol))
        ) & ~fresh["rule"].isin(UNION_RULES).to_numpy()
        findings = pd.concat([base[keep_base], fresh[take]], ignore_index=True)
        rows = state.rows[state.rows["id"].isin(present) & ~state.rows["id"].isin(scope_ids)]
        fresh_rows = report.areas[report.areas["id"].isin(sorted(scope_ids))]
        table = pd.concat([rows, fresh_rows], ignore_index=True).set_index("id", drop=False)
        return self._as_check(
            state,
            table,
            gpd.GeoDataFrame(findings, geometry="geometry", crs=STORAGE_CRS),
            present,
            names,
            parents,
            rechecked=tuple(sorted(scope_ids)),
        )

    def _grow(
        self, tree: shapely.STRtree, arr: ObjArray, seeds: Sequence[int], tol: float
    ) -> set[int]:
        """``seeds``, the areas within ``tol`` of them and the areas sharing a compound."""
        if not len(seeds):
            return set()
        seed_geoms = arr[np.asarray(seeds, dtype=np.int64)]
        _, near = tree.query(seed_geoms, predicate="dwithin", distance=tol)
        out = set(int(i) for i in seeds) | set(near.tolist())
        comp, ctree = self._compounds
        if comp is not None and ctree is not None:
            _, hit = ctree.query(seed_geoms, predicate="dwithin", distance=tol)
            if len(hit):
                cgeoms = np.asarray(comp.geometry.values, dtype=object)[np.unique(hit)]
                _, more = tree.query(cgeoms, predicate="intersects")
                out |= set(more.tolist())
        return out

    def _as_check(
        self,
        state: _LevelState,
        rows: pd.DataFrame,
        findings: gpd.GeoDataFrame,
        present: list[str],
        names: Mapping[str, str],
        parents: Mapping[str, str | None] | None,
        *,
        incremental: bool = True,
        rechecked: tuple[str, ...] = (),
    ) -> LevelCheck:
        order = sorted(present)
        rows = rows.reindex(order)
        rows["id"] = order
        found = findings.drop(columns=["_geom_m"], errors="ignore")
        rule_order = {r: k for k, r in enumerate(_rule_ids())}
        found = (
            found.assign(
                _o=found["rule"].map(rule_order).fillna(len(rule_order)),
                _a=found["area_id"].map(lambda a: "" if a is None or a is pd.NA else str(a)),
            )
            .sort_values(["_o", "_a", "value", "message"], kind="stable")
            .drop(columns=["_o", "_a"])
            .reset_index(drop=True)
        )
        found = gpd.GeoDataFrame(found, geometry="geometry", crs=STORAGE_CRS)
        return LevelCheck(
            level=state.level.value,
            measure=state.measure,
            band=state.band,
            areas=rows.reset_index(drop=True),
            findings=found,
            incremental=incremental,
            rechecked=rechecked,
        )

    # -- grids and codes ---------------------------------------------------------------------
    def _regrid(self, community: ObjArray, moved: npt.NDArray[np.intp]) -> ObjArray:
        """Each moved unit joins the target's grid it shares the most boundary with."""
        grid = self.grid.copy()
        grid[moved] = None
        pending = [int(i) for i in moved if community[i] is not None]
        taken = set(_present(self.grid))
        fresh: dict[str, str] = {}
        while pending:
            progress = False
            rest = []
            for i in pending:
                best = self._best_grid(i, community, grid)
                if best is None:
                    rest.append(i)
                    continue
                grid[i] = best
                progress = True
            pending = rest
            if not progress:
                # no grid of the target next to them: a new grid per target community
                i = pending.pop(0)
                target = str(community[i])
                if target not in fresh:
                    fresh[target] = _fresh_id(f"{target}-new", taken)
                    taken.add(fresh[target])
                grid[i] = fresh[target]
        return grid

    def _best_grid(self, i: int, community: ObjArray, grid: ObjArray) -> str | None:
        geom = self.metric[i]
        near = self.tree.query(geom, predicate="dwithin", distance=1.0)
        best, length = None, -1.0
        for j in near:
            j = int(j)
            if j == i or community[j] != community[i] or grid[j] is None:
                continue
            shared = float(
                shapely.length(shapely.intersection(shapely.boundary(geom), self.metric[j]))
            )
            if shared > length:
                best, length = str(grid[j]), shared
        return best

    def _new_codes(self, new: Sequence[str]) -> dict[str, str]:
        """The next unused community codes for new communities (codes of equal-width digits
        only; otherwise new communities have none)."""
        codes = [c for c in self.codes.values() if c]
        if not new or not codes or not all(c.isdigit() for c in codes):
            return {}
        width = len(codes[0])
        if any(len(c) != width for c in codes):
            return {}
        nxt = max(int(c) for c in codes) + 1
        out = {}
        for cid in new:
            if len(str(nxt)) > width:
                break
            out[cid] = str(nxt).zfill(width)
            nxt += 1
        return out


class _Levels(Mapping[str, _LevelState]):
    """The levels of a base, each prepared (dissolved and checked) on first use."""

    def __init__(self, base: EditBase, levels: Sequence[Level]) -> None:
        self._base = base
        self._names = [lv.value for lv in levels]
        self._states: dict[str, _LevelState] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> _LevelState:
        if name not in self._names:
            raise KeyError(name)
        with self._lock:
            if name not in self._states:
                level = Level(name)
                labels = self._base.community if level is Level.COMMUNITY else self._base.grid
                self._states[name] = self._base._prepare_level(level, labels)
            return self._states[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _described(
    check: LevelCheck,
    labels: ObjArray,
    *,
    names: Mapping[str, str],
    codes: Mapping[str, str],
    parents: Mapping[str, str | None] | None,
    touched: set[str],
    new: set[str],
) -> LevelCheck:
    """``check`` with each area's code, name, parent, units, band status, whether it lies
    inside one other area (``embedded``), its finding count and whether the edit changed it."""
    rows = check.areas.copy()
    ids = rows["id"].astype(str)
    counts = pd.Series(labels[pd.notna(labels)], dtype=object).value_counts()
    values = rows["households" if check.measure == "households" else "residents"]
    if check.band is not None:
        lo, hi = check.band
        in_band = [None if pd.isna(v) else bool(lo <= v <= hi) for v in values]
    else:
        in_band = [None] * len(rows)
    found = check.findings
    per_area = found["area_id"].dropna().astype(str).value_counts()
    embedded = set(found.loc[found["rule"] == "enclave.embedded", "area_id"].dropna().astype(str))
    rows.insert(1, "code", [codes.get(a) for a in ids])
    rows["name"] = [names.get(a, a) for a in ids]
    rows.insert(3, "parent_id", [parents.get(a) if parents else None for a in ids])
    rows.insert(4, "units", [int(counts.get(a, 0)) for a in ids])
    rows["in_band"] = in_band
    rows["embedded"] = [a in embedded for a in ids]
    rows["findings"] = [int(per_area.get(a, 0)) for a in ids]
    rows["changed"] = [a in touched for a in ids]
    rows["new"] = [a in new for a in ids]
    return replace(check, areas=rows)


def _derived_outline(state: _LevelState, config: CheckConfig) -> gpd.GeoDataFrame:
    """The outline a check derives from the areas (their union, gaps narrower than the sliver
    width closed, holes filled), given to every scoped check of the level."""
    geoms = np.asarray(list(state.geoms.values()), dtype=object)
    union = shapely.coverage_union_all(geoms) if state.exact_coverage else shapely.union_all(geoms)
    half = config.sliver_width / 2.0
    closed = shapely.buffer(
        shapely.buffer(union, half, join_style="mitre"), -half, join_style="mitre"
    )
    shells = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(closed)))
    return gpd.GeoDataFrame(geometry=[shapely.union_all(shells)], crs=state.crs)


def _with_metric(findings: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Findings in EPSG:4326 with their geometry in the metric CRS as ``_geom_m``."""
    metric = (
        findings if findings.crs is not None and findings.crs.equals(crs) else findings.to_crs(crs)
    )
    out = findings.to_crs(STORAGE_CRS).reset_index(drop=True)
    out["_geom_m"] = np.asarray(metric.geometry.values, dtype=object)
    return out


def _near_any(findings: gpd.GeoDataFrame, areas: ObjArray, tol: float) -> npt.NDArray[np.bool_]:
    """Which findings lie within ``tol`` of one of ``areas`` (metric CRS)."""
    out = np.zeros(len(findings), dtype=bool)
    if len(findings) == 0 or len(areas) == 0:
        return out
    geoms = np.asarray(findings["_geom_m"], dtype=object)
    hit, _ = shapely.STRtree(areas).query(geoms, predicate="dwithin", distance=tol)
    out[hit] = True
    return out


def _indexed(layer: gpd.GeoDataFrame | None, crs: CRS) -> shapely.STRtree | None:
    """A spatial index of ``layer`` in the metric CRS (``None`` for no layer)."""
    if layer is None or len(layer) == 0:
        return None
    return shapely.STRtree(np.asarray(layer.to_crs(crs).geometry.values, dtype=object))


def _near(
    layer: gpd.GeoDataFrame | None, tree: shapely.STRtree | None, box: Any
) -> gpd.GeoDataFrame | None:
    """The whole features of ``layer`` that meet ``box`` (``None`` when none do)."""
    if layer is None or tree is None:
        return None
    hit = tree.query(box, predicate="intersects")
    return layer.iloc[np.sort(hit)] if len(hit) else None


def _invalid(geoms: ObjArray) -> npt.NDArray[np.bool_]:
    """Which areas do not match their neighbours exactly (GEOS coverage validation, as the
    check's own :func:`gridplan.geo.rules.context.build_context` decides it); all of them
    when it cannot be decided."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    try:
        edges = shapely.coverage_invalid_edges(geoms)
    except shapely.errors.GEOSException:
        return np.ones(len(geoms), dtype=bool)
    return ~np.asarray(shapely.is_empty(edges), dtype=bool)


def _rule_ids() -> tuple[str, ...]:
    from gridplan.geo.rules import REGISTRY

    return REGISTRY.ids()


def _sums(
    values: npt.NDArray[np.float64], labels: ObjArray, mask: npt.NDArray[np.bool_]
) -> dict[str, float]:
    """The sum of the known ``values`` per label among ``mask`` (labels with none left out)."""
    keep = mask & ~np.isnan(values)
    if not keep.any():
        return {}
    codes, uniques = pd.factorize(labels[keep])
    totals = np.bincount(codes, weights=values[keep])
    return {str(u): float(t) for u, t in zip(uniques, totals, strict=True)}


def _parents(grid: ObjArray, community: ObjArray) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for g, c in zip(grid, community, strict=True):
        if g is not None and g not in out:
            out[str(g)] = None if c is None else str(c)
    return out


def _touched(before: ObjArray, after: ObjArray) -> set[str]:
    diff = _changed(before, after)
    return {str(v) for v in np.concatenate([before[diff], after[diff]]) if v is not None}


def _isin(labels: ObjArray, ids: set[str]) -> npt.NDArray[np.bool_]:
    """Which labels are one of ``ids`` (``None`` never is)."""
    return np.asarray(pd.Index(labels, dtype=object).isin(sorted(ids)), dtype=bool)


def _present(labels: ObjArray) -> list[str]:
    return sorted({str(v) for v in labels if v is not None})


def _fresh_id(stem: str, taken: set[str]) -> str:
    if stem not in taken:
        return stem
    k = 2
    while f"{stem}-{k}" in taken:
        k += 1
    return f"{stem}-{k}"


def _texts(values: Any) -> ObjArray:
    out = [None if v is None or pd.isna(v) else str(v) for v in list(values)]
    return np.array(out, dtype=object)


def _changed(a: ObjArray, b: ObjArray) -> npt.NDArray[np.bool_]:
    return np.array([x != y for x, y in zip(a, b, strict=True)], dtype=bool)


__all__ = ["UNION_RULES", "EditBase", "EditPreview", "LevelCheck", "Move"]


#: The layer kind of each :class:`CheckLayers` field.
_KINDS = {
    "roads": LayerKind.ROADS,
    "compounds": LayerKind.COMPOUNDS,
    "outline": LayerKind.OUTLINE,
    "units": LayerKind.UNITS,
    "facilities": LayerKind.FACILITIES,
    "paths": LayerKind.PATHS,
    "buildings": LayerKind.BUILDINGS,
}


def _checked_layers(layers: CheckLayers) -> CheckLayers:
    """Every given layer through :func:`~gridplan.geo.rules.context.checked_layer`."""
    done = {}
    for f in fields(CheckLayers):
        layer = getattr(layers, f.name)
        kind = _KINDS.get(f.name)
        if kind is not None and layer is not None and len(layer):
            done[f.name] = checked_layer(kind, layer, f.name)
    return replace(layers, **done)
