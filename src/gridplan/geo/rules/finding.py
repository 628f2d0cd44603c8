"""The common shape of the rows each rule returns before they become a report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

#: Columns of a rule's raw findings: ``area`` is an area index (``-1`` for none) and
#: ``geometry`` is in the metric CRS.
RAW_COLUMNS: tuple[str, ...] = ("rule", "area", "value", "message", "geometry")


def raw_findings(
    rule: str,
    area: npt.ArrayLike,
    value: npt.ArrayLike,
    message: Sequence[str],
    geometry: Sequence[Any] | npt.NDArray[np.object_],
) -> pd.DataFrame:
    """Build a rule's raw findings table (see :data:`RAW_COLUMNS`)."""
    areas = np.asarray(area, dtype=np.int64).reshape(-1)
    return pd.DataFrame(
        {
            "rule": [rule] * len(areas),
            "area": areas,
            "value": np.asarray(value, dtype=float).reshape(-1),
            "message": list(message),
            "geometry": np.asarray(geometry, dtype=object).reshape(-1),
        }
    )


def no_findings() -> pd.DataFrame:
    """An empty raw findings table."""
    return raw_findings("", [], [], [], [])


def label(ids: npt.NDArray[np.object_], names: npt.NDArray[np.object_], i: int) -> str:
    """``id (name)`` of area ``i`` for messages."""
    name = names[i]
    return f"{ids[i]} ({name})" if name not in (None, "") and name == name else str(ids[i])


def fmt(value: float) -> str:
    """A count or length for messages: integers without decimals."""
    if value != value:
        return "unknown"
    return (
        f"{value:,.0f}"
        if abs(value - round(value)) < 0.05 or abs(value) >= 100
        else f"{value:,.1f}"
    )


def plural(level: str) -> str:
    """``communities`` / ``grids``."""
    return "communities" if level == "community" else f"{level}s"
