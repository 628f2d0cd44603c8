"""Edit a stored plan unit by unit: preview the moves with a live check, save them as a plan.

One implementation behind ``POST /plans/{id}/edits`` and the editor page
(``GET /plans/{id}/edit``). :func:`open_edit` prepares a stored plan for edits once (its
units, the store's check layers and the check of every area of the plan:
:class:`~gridplan.geo.edit.EditBase`); :func:`preview_edit` applies a list of moves and
rechecks only the communities they touched (the same rules as ``gridplan check``);
:func:`save_edit` stores the edited plan, parent = the base, checked at every level and stored
with its findings like any other plan. Nothing is ever changed in the base plan.

A base that is no longer the latest stored plan is *stale*: the preview says so
(``stale``, ``latest_plan``), and saving it is refused with a :class:`ConflictError` (HTTP
409) unless forced, so an edit of an old plan does not silently branch the history.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridplan.data.store.base import Store
from gridplan.errors import ConflictError
from gridplan.geo.edit import EditBase, EditPreview, Move
from gridplan.ops.checks import PlanCheck, check_plan, jsonable
from gridplan.ops.layers import read_check_layers
from gridplan.plan import Level

#: The columns of a community row in the preview JSON, in order.
COMMUNITY_FIELDS: tuple[str, ...] = (
    "id",
    "code",
    "name",
    "households",
    "residents",
    "in_band",
    "parts",
    "embedded",
    "units",
    "findings",
    "road_boundary_share",
    "changed",
    "new",
)


def open_edit(store: Store, plan_id: int | None = None) -> EditBase:
    """A stored plan (default: the latest) prepared for edits.

    Raises
    ------
    NotFoundError
        If there is no such plan.
    InputError
        If the plan has no unit assignments (a drawn plan) or assigns units the store lacks.
    """
    plan = store.load_plan(plan_id)
    layers = read_check_layers(store)
    units = layers.units
    if units is None:
        from gridplan.data.layers import LayerKind

        units = store.read_layer(LayerKind.UNITS)
    return EditBase(plan, units, layers)


@dataclass(frozen=True)
class EditResult:
    """A previewed edit: the check of the edited plan and where the base stands.

    Attributes
    ----------
    base
        The prepared base plan.
    preview
        The moves applied and checked.
    latest_plan
        The latest stored plan's id.
    seconds
        How long the live check took (server side).
    """

    base: EditBase
    preview: EditPreview
    latest_plan: int | None
    seconds: float

    @property
    def plan_id(self) -> int:
        """The base plan's id."""
        assert self.base.plan.plan_id is not None
        return self.base.plan.plan_id

    @property
    def stale(self) -> bool:
        """Whether a plan was stored after the base (saving then needs ``force``)."""
        return self.latest_plan is not None and self.latest_plan != self.plan_id

    def to_json(self, *, geometry: bool = False) -> dict[str, Any]:
        """The ``POST /plans/{id}/edits`` answer: ``{"plan_id", "latest_plan", "stale",
        "message", "incremental", "check_ms", "measure", "band", "moved": {"units",
        "households"}, "communities": [...], "findings": [...], "grids": [...]}``."""
        check = self.preview.checks[Level.COMMUNITY.value]
        rows = check.areas
        communities = [
            {f: _value(r.get(f)) for f in COMMUNITY_FIELDS} for r in rows.to_dict("records")
        ]
        findings = []
        for f in self.preview.findings.itertuples(index=False):
            item: dict[str, Any] = {
                "rule": f.rule,
                "severity": f.severity,
                "level": f.level,
                "area_id": None if f.area_id is None else str(f.area_id),
                "value": _value(f.value),
                "message": f.message,
            }
            if geometry:
                geom = f.geometry
                item["geometry"] = (
                    None
                    if geom is None or shapely.is_empty(geom)
                    else shapely.geometry.mapping(geom)
                )
            findings.append(item)
        grids = self.base.affected_grids(self.preview)
        moved = self.preview.moved
        return jsonable(
            {
                "plan_id": self.plan_id,
                "latest_plan": self.latest_plan,
                "stale": self.stale,
                "message": stale_message(self.plan_id, self.latest_plan),
                "incremental": self.preview.incremental,
                "check_ms": round(self.seconds * 1000.0, 1),
                "measure": check.measure,
                "band": list(check.band) if check.band is not None else None,
                "moved": {
                    "units": len(moved),
                    "households": float(np.nansum(self.base.households[moved])),
                },
                "communities": communities,
                "findings": findings,
                "grids": grids.to_dict("records"),
            }
        )


def stale_message(plan_id: int, latest: int | None) -> str | None:
    """The message shown when the base is no longer the latest plan (``None`` when it is).

    Examples
    --------
    >>> stale_message(2, 3)
    'plan 2 is no longer the latest plan (plan 3 is): saving stores a sibling of plan 3, \
parent 2 (force it, or edit plan 3)'
    >>> stale_message(3, 3) is None
    True
    """
    if latest is None or latest == plan_id:
        return None
    return (
        f"plan {plan_id} is no longer the latest plan (plan {latest} is): saving stores a "
        f"sibling of plan {latest}, parent {plan_id} (force it, or edit plan {latest})"
    )


def preview_edit(
    base: EditBase,
    moves: Sequence[Move],
    *,
    latest_plan: int | None = None,
    levels: Sequence[Level | str] = (Level.COMMUNITY,),
) -> EditResult:
    """Apply ``moves`` to the prepared base and check them; nothing is stored.

    Parameters
    ----------
    base
        The base plan (:func:`open_edit`).
    moves
        The moves in order.
    latest_plan
        The latest stored plan's id (to tell whether the base is stale).
    levels
        The levels to check live (default the communities).

    Raises
    ------
    NotFoundError
        An unknown unit, or a move with ``new=False`` naming no community.
    InputError
        An empty or ambiguous target, or ``new=True`` naming an existing community.
    """
    start = time.perf_counter()
    preview = base.preview(moves, levels=levels)
    return EditResult(base, preview, latest_plan, time.perf_counter() - start)


@dataclass(frozen=True)
class SavedEdit:
    """An edit stored as a new plan.

    Attributes
    ----------
    plan_id, parent
        The new plan and its parent (the base).
    check
        The full check it was stored with (every level).
    """

    plan_id: int
    parent: int
    check: PlanCheck

    def to_json(self) -> dict[str, Any]:
        """``{"plan_id", "parent", "findings": {"<level>": {"findings", "by_rule"}}}``."""
        return jsonable(
            {
                "plan_id": self.plan_id,
                "parent": self.parent,
                "checks": {
                    level: {"findings": len(r.findings), "by_rule": r.by_rule()}
                    for level, r in self.check.reports.items()
                },
            }
        )


def save_edit(
    store: Store,
    base: EditBase,
    moves: Sequence[Move],
    *,
    force: bool = False,
    name: str | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> SavedEdit:
    """Store the edited plan (parent = the base) with the findings of its full check.

    Raises
    ------
    ConflictError
        If the base is no longer the latest plan and ``force`` is false.
    NotFoundError, InputError
        As :func:`preview_edit`.
    """
    parent = base.plan.plan_id
    assert parent is not None, "only a stored plan is saved as an edit"
    latest = store.latest_plan_id()
    if not force and latest is not None and latest != parent:
        raise ConflictError(stale_message(parent, latest) or "")
    preview = base.preview(moves, levels=())
    plan = base.edited_plan(
        preview, name=name, metrics={"moves": len(moves), **dict(metrics or {})}
    )
    checked = check_plan(plan, base.layers)
    plan_id = store.save_plan(plan, checked.findings)
    return SavedEdit(plan_id, parent, checked)


def _value(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value


__all__ = [
    "COMMUNITY_FIELDS",
    "EditResult",
    "SavedEdit",
    "open_edit",
    "preview_edit",
    "save_edit",
    "stale_message",
]
