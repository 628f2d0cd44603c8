"""Parameters and result of the partition engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PartitionConfig:
    """Tuning of the partition engine (every field has a sensible default).

    Parameters
    ----------
    road_surcharge
        Added to the random spanning-tree weight of an edge that runs along a road, scaled by
        the road's importance (a motorway adds the full surcharge). Trees then prefer to hold
        a block together across non-road boundaries, so cuts fall on roads, major roads first.
    off_road_cost
        Cut cost per metre of a shared boundary that follows no road.
    road_cost_min, road_cost_max
        Cut cost per metre along the most important road class (``motorway``) and the least
        (``other``); classes in between are spaced evenly by rank.
    compactness
        Extra cut cost per metre of any boundary (favours short, compact boundaries).
    moved_weight
        Weight of one moved household (in units of the mean unit's households) against one
        average edge of cut cost; used only with a baseline.
    split_attempts
        Spanning trees drawn for one bisection before giving up on it.
    tree_budget
        Spanning trees a seeding attempt may draw, per area.
    improve_steps
        Merge-split steps of local search after seeding (``None``: 5 per area, at most
        5,000). ``0`` stops at the first valid plan.
    flip_rounds
        Rounds of single-unit boundary flips after merge-split (each round tries every
        boundary unit once, in a vectorised batch).
    """

    road_surcharge: float = 1.0
    off_road_cost: float = 1.0
    road_cost_min: float = 0.1
    road_cost_max: float = 0.5
    compactness: float = 0.05
    moved_weight: float = 10.0
    split_attempts: int = 12
    tree_budget: int = 40
    improve_steps: int | None = None
    flip_rounds: int = 3


@dataclass(frozen=True)
class IslandJoin:
    """One island component joined to the rest of the graph.

    Parameters
    ----------
    units
        Unit ids of the island.
    joined_to
        The unit (outside the island) nearest to it, by centroid distance.
    distance
        That centroid distance in metres.
    """

    units: tuple[str, ...]
    joined_to: str
    distance: float


@dataclass(frozen=True)
class PartitionResult:
    """What :func:`~gridplan.geo.partition.partition_graph` found.

    Parameters
    ----------
    labels
        District index ``0..k-1`` of every node (``-1`` everywhere when no plan was found).
    names
        Name of each district: the baseline community it keeps, else ``"1"``, ``"2"``, ...
    valid
        Every district contiguous and inside the band.
    reason
        Why no valid plan exists or was found (``None`` when valid).
    totals
        Households (or the chosen measure) per district.
    units
        Units per district.
    road_share
        Share of each district's shared boundary length that runs along a road.
    households_moved
        Households whose district differs from the baseline (``None`` without a baseline).
    islands
        Island components joined to their nearest unit.
    seconds
        Wall time.
    iterations
        Merge-split and flip steps of local search.
    cut_cost
        Road-weighted length of all district boundaries (the objective's cut term).
    """

    labels: npt.NDArray[np.int64]
    names: tuple[str, ...]
    valid: bool
    reason: str | None
    totals: npt.NDArray[np.float64]
    units: npt.NDArray[np.int64]
    road_share: npt.NDArray[np.float64]
    households_moved: float | None
    islands: tuple[IslandJoin, ...] = field(default_factory=tuple)
    seconds: float = 0.0
    iterations: int = 0
    cut_cost: float = 0.0

    @property
    def k(self) -> int:
        """Number of districts."""
        return len(self.names)

    def district_of(self) -> npt.NDArray[np.object_]:
        """District name of every node (``None`` where unassigned)."""
        names = np.asarray(self.names, dtype=object)
        out = np.full(len(self.labels), None, dtype=object)
        ok = self.labels >= 0
        out[ok] = names[self.labels[ok]]
        return out
