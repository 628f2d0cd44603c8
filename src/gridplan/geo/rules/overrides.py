"""``compound.override_violated``: a named assignment (compound → community) not honoured.

The community-management opinions name compounds that belong to a given community
(落实属地管理: 阳光时代广场 → 阳光社区, 福隆广场 → 锦青社区, ...; see
:func:`gridplan.data.reference.load_overrides`). A compound *lies in* the area holding the
largest share of its area (a point: the area containing it; the same overlap table as the
``compound.*`` rules). An override is violated when a compound with its name lies in another
area, or in none.

Names match after :func:`gridplan.data.reference.normalise_name` (NFKC: full-width →
half-width, whitespace removed, case folded), like :func:`gridplan.geo.assign.assign_compounds`:
the override's ``compound`` against the compounds' ``name``, its ``community`` against the
areas' ``name``, else their ``area_id``. Overrides whose compound or community is not in the
data are not findings: they come back as notes, so none is silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from gridplan.data.reference import normalise_name
from gridplan.errors import InputError
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.finding import fmt, label, no_findings, raw_findings
from gridplan.geo.rules.households import CompoundPieces
from gridplan.geo.rules.registry import RuleResult, RuleSpec, register
from gridplan.geo.rules.rule_context import RuleContext

RULE = "compound.override_violated"

#: Columns an overrides table must have.
OVERRIDE_COLUMNS: tuple[str, ...] = ("compound", "community")


@dataclass(frozen=True)
class OverrideCheck:
    """The outcome of checking the overrides.

    Parameters
    ----------
    findings
        Raw findings (see :data:`~gridplan.geo.rules.finding.RAW_COLUMNS`), one per compound
        that lies outside its named community. ``area`` is the area the compound lies in
        (``-1``: none), ``value`` its households, ``geometry`` a collection of the compound,
        the area it lies in (when any) and the named area.
    notes
        One line per override that could not be checked (no such compound or community).
    """

    findings: pd.DataFrame
    notes: tuple[str, ...]


def override_findings(
    ctx: CheckContext, pieces: CompoundPieces | None, overrides: pd.DataFrame | None
) -> OverrideCheck:
    """Check the named assignments in ``overrides`` against where the compounds lie.

    Parameters
    ----------
    ctx
        The check context (areas and compounds in the metric CRS).
    pieces
        The compound/area overlap table (``None`` without compounds).
    overrides
        ``compound`` and ``community`` names, optionally ``line`` (the source line, quoted in
        notes), as returned by :func:`gridplan.data.reference.load_overrides`.

    Returns
    -------
    OverrideCheck
        Findings and notes (both empty without overrides).

    Raises
    ------
    InputError
        If ``overrides`` lacks the ``compound`` or ``community`` column.
    """
    if overrides is None:
        return OverrideCheck(no_findings(), ())
    missing = [c for c in OVERRIDE_COLUMNS if c not in overrides.columns]
    if missing:
        raise InputError(
            f"overrides: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(str(c) for c in overrides.columns)})"
        )
    if len(overrides) == 0:
        return OverrideCheck(no_findings(), ())
    if ctx.compounds is None or pieces is None:
        return OverrideCheck(
            no_findings(), (f"overrides not checked: no compounds given ({len(overrides)})",)
        )
    comp = ctx.compounds
    cgeoms = np.asarray(comp.geometry.values, dtype=object)
    ckeys = comp["name"].map(normalise_name).to_numpy(dtype=object)
    cids = comp["compound_id"].to_numpy(dtype=object)
    cnames = comp["name"].to_numpy(dtype=object)
    hh = comp["households"].to_numpy(dtype=float)
    lies_in = _lies_in(pieces, len(comp))
    name_keys = np.array([normalise_name(v) for v in ctx.names], dtype=object)
    id_keys = np.array([normalise_name(v) for v in ctx.ids], dtype=object)
    lines = overrides["line"] if "line" in overrides.columns else pd.Series([None] * len(overrides))
    rows: list[tuple[int, float, str, object]] = []
    notes: list[str] = []
    for compound, community, line in zip(
        overrides["compound"], overrides["community"], lines, strict=True
    ):
        at = f" (line {line})" if line is not None and line == line else ""
        what = f"override {compound} → {community}{at}"
        key = normalise_name(compound)
        hits = np.flatnonzero(ckeys == key) if key else np.empty(0, dtype=np.int64)
        target_key = normalise_name(community)
        targets = np.flatnonzero(name_keys == target_key) if target_key else hits[:0]
        if len(targets) == 0 and target_key:
            targets = np.flatnonzero(id_keys == target_key)
        if len(hits) == 0:
            notes.append(f"{what} not checked: no compound named {compound} in the data")
            continue
        if len(targets) == 0:
            notes.append(f"{what} not checked: no {ctx.level} named {community} in the data")
            continue
        for c in hits:
            where = int(lies_in[c])
            if where in targets:
                continue
            should = ", ".join(label(ctx.ids, ctx.names, int(t)) for t in targets)
            now = label(ctx.ids, ctx.names, where) if where >= 0 else f"no {ctx.level}"
            parts = [cgeoms[c], *([ctx.geoms[where]] if where >= 0 else []), *ctx.geoms[targets]]
            rows.append(
                (
                    where,
                    hh[c],
                    f"compound {label(cids, cnames, int(c))} ({fmt(hh[c])} households) lies in "
                    f"{now}, not in {should} as the overrides name{at}",
                    shapely.geometrycollections(parts),
                )
            )
    if not rows:
        return OverrideCheck(no_findings(), tuple(notes))
    findings = raw_findings(
        RULE,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
    return OverrideCheck(findings, tuple(notes))


def _lies_in(pieces: CompoundPieces, n: int) -> npt.NDArray[np.int64]:
    """The area holding the largest share of each compound (``-1``: none; ties: lowest)."""
    t = pieces.table
    sides = (
        t.groupby(["compound", "area"])["share"]
        .sum()
        .reset_index()
        .sort_values(["compound", "share", "area"], ascending=[True, False, True])
        .drop_duplicates("compound")
    )
    out = np.full(n, -1, dtype=np.int64)
    out[sides["compound"].to_numpy(dtype=np.int64)] = sides["area"].to_numpy(dtype=np.int64)
    return out


def _override_violated(context: RuleContext, config: CheckConfig) -> RuleResult:
    checked = override_findings(context.inputs, context.compound_pieces, context.overrides)
    return RuleResult(checked.findings, notes=checked.notes)


register(
    RuleSpec(
        id=RULE,
        severity="error",
        order=100,
        label="named assignment not honoured",
        style={"color": "#b71c1c", "weight": 4, "fillColor": "#ff8a80", "fillOpacity": 0.6},
        run=_override_violated,
    )
)
