"""Codes that last: every plan a use case stores is coded from its parent and the store's
history (:func:`gridplan.geo.codes.code_plan`).

Partition, grids, scenario runs and drawn imports all pass the plan they are about to store
through :func:`coded_plan`, so a child plan keeps its parent's codes where its areas kept
their households, and a code any earlier plan of the store gave is never given to other
households.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import NotFoundError
from gridplan.geo.codes import CodeHistory, CodeScheme, code_plan
from gridplan.plan import Plan


def code_history(store: Store) -> CodeHistory:
    """Every code the store's plans gave, and the units of each coded area
    (:class:`~gridplan.geo.codes.CodeHistory`)."""
    plans = []
    for info in store.list_plans():
        try:
            plans.append(store.load_plan(info.plan_id))
        except NotFoundError:  # pragma: no cover - listed plans load
            continue
    return CodeHistory.from_plans(plans)


def unit_households(store: Store) -> dict[str, float] | None:
    """Households by unit id (``None`` when the store holds no units)."""
    if not store.count(LayerKind.UNITS):
        return None
    units = store.read_layer(LayerKind.UNITS)
    values = pd.to_numeric(units["households"], errors="coerce").fillna(0.0)
    return dict(zip(units["unit_id"].astype(str), values.astype(float), strict=True))


def coded_plan(
    store: Store,
    plan: Plan,
    *,
    parent: Plan | None = None,
    households: Mapping[str, float] | None = None,
    scheme: CodeScheme | None = None,
    fixed: Mapping[str, str] | None = None,
    keep_own: bool = False,
) -> Plan:
    """``plan`` with every community and grid coded, keeping the codes of its parent (the
    stored plan ``plan.parent_id``, or ``parent``) and never reusing a code of the store.

    Raises
    ------
    NotFoundError
        If the plan's parent is not stored.
    """
    if parent is None and plan.parent_id is not None:
        parent = store.load_plan(plan.parent_id)
    return code_plan(
        plan,
        parent,
        history=code_history(store),
        households=households if households is not None else unit_households(store),
        scheme=scheme,
        fixed=fixed,
        keep_own=keep_own,
    )


def code_drawn(store: Store, plan: Plan) -> Plan:
    """A drawn plan (an import) with its own codes kept and the missing ones filled in."""
    return coded_plan(store, plan, keep_own=True)


__all__ = ["code_drawn", "code_history", "coded_plan", "unit_households"]
