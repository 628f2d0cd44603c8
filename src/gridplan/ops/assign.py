"""Assign the store's compounds (小区) to the communities of a stored plan.

``gridplan assign`` on the store (no files): each compound goes to the community that holds
most of it (:func:`gridplan.geo.assign.assign_compounds`, named overrides first, arterial roads
not counted as borders). The plan is not changed (a plan assigns units, and compounds follow
from its areas); the result is reported and can be written with ``--out``.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridplan.data.layers import LayerKind
from gridplan.data.store.base import Store
from gridplan.errors import InputError
from gridplan.geo.assign import assign_compounds
from gridplan.plan import Level


def assign_store(
    store: Store,
    plan_id: int | None = None,
    *,
    overrides: pd.DataFrame | None = None,
    workers: int | None = None,
) -> tuple[gpd.GeoDataFrame, int]:
    """Assign the store's compounds to the communities of a plan (default: the latest).

    Returns
    -------
    tuple
        The assigned compounds (as :func:`~gridplan.geo.assign.assign_compounds` returns
        them) and the plan's id.

    Raises
    ------
    InputError
        If the store holds no compounds or the plan no communities.
    NotFoundError
        If there is no such plan.
    """
    plan = store.load_plan(plan_id)
    communities = plan.areas_at(Level.COMMUNITY)
    if communities.empty:
        raise InputError(f"plan {plan.plan_id} has no communities to assign compounds to")
    # the layers read here, not through ops.layers: a check's imports are not an assign's
    got = {
        kind: store.read_layer(kind) if store.count(kind) else None
        for kind in (LayerKind.COMPOUNDS, LayerKind.ROADS)
    }
    compounds = got[LayerKind.COMPOUNDS]
    if compounds is None:
        raise InputError(
            f"{store.url}: the store holds no compounds; import them first "
            "(gridplan import FILE --kind compounds)"
        )
    assert plan.plan_id is not None
    result = assign_compounds(
        compounds, communities, overrides=overrides, roads=got[LayerKind.ROADS], workers=workers
    )
    return result, plan.plan_id


__all__ = ["assign_store"]
