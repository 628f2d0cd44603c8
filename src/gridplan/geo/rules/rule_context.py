"""What every rule is given: the check's inputs and the products several rules share.

The products are computed on first use and kept, so the boundary pieces are cut once however
many rules measure them, and a check whose rules never look at compounds never overlays them.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.geo.rules.boundary import BoundaryPieces, boundary_pieces
from gridplan.geo.rules.config import CheckConfig
from gridplan.geo.rules.context import CheckContext
from gridplan.geo.rules.households import CompoundPieces, PartCounts, compound_pieces, part_counts

Floats = npt.NDArray[np.float64]


class RuleContext:
    """A check's inputs and their shared products, computed lazily.

    Parameters
    ----------
    inputs
        The validated inputs in the metric CRS (:func:`~gridplan.geo.rules.context.build_context`).
    config
        The configuration the inputs were built with (the products depend on its tolerances).
    overrides
        Named assignments, compound name → community name (rule
        ``compound.override_violated``), or ``None``.
    """

    def __init__(
        self,
        inputs: CheckContext,
        config: CheckConfig,
        overrides: pd.DataFrame | None = None,
    ) -> None:
        self.inputs = inputs
        self.config = config
        self.overrides = overrides

    @cached_property
    def boundary(self) -> BoundaryPieces:
        """The areas' boundaries cut into classified pieces (neighbour, road, outline)."""
        return boundary_pieces(self.inputs, self.config)

    @cached_property
    def compound_pieces(self) -> CompoundPieces | None:
        """The compounds overlaid on the area parts (``None`` without compounds)."""
        return compound_pieces(self.inputs)

    @cached_property
    def part_counts(self) -> PartCounts:
        """Households and residents per area part, from units, else compounds."""
        return part_counts(self.inputs, self.compound_pieces)

    @cached_property
    def households(self) -> Floats | None:
        """Households per area: the areas' own column, its gaps filled from the parts."""
        return _per_area(self.inputs.households, self.part_counts.households, self.inputs)

    @cached_property
    def residents(self) -> Floats | None:
        """Residents per area: the areas' own column, its gaps filled from the parts."""
        return _per_area(self.inputs.residents, self.part_counts.residents, self.inputs)

    @property
    def measure_values(self) -> Floats | None:
        """Per area, what the size band counts (``config.measure``); ``None`` when unknown."""
        return self.households if self.config.measure == "households" else self.residents


def _per_area(
    column: Floats | None, per_part: Floats | None, inputs: CheckContext
) -> Floats | None:
    """The areas' own column, its gaps filled from the parts' counts."""
    derived = (
        np.bincount(inputs.part_area, weights=per_part, minlength=inputs.n).astype(float)
        if per_part is not None
        else None
    )
    if column is None:
        return derived
    if derived is None:
        return column
    return np.where(np.isnan(column), derived, column)
