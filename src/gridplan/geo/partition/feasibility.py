"""Feasibility diagnostics: say exactly why no plan can exist.

A plan needs every unit at or below the ceiling, every connected component able to hold a whole
number of areas in ``[lo, hi]`` (``ceil(T / hi) <= floor(T / lo)``), and, for a fixed ``k``, a
count ``k`` between the fewest and the most areas the components allow together.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from gridplan.errors import InfeasibleError


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def part_range(total: float, lo: float, hi: float) -> tuple[int, int]:
    """Fewest and most areas a connected total can be split into (``min > max``: none)."""
    eps = 1e-9
    fewest = max(1, math.ceil(total / hi - eps)) if hi > 0 else 1
    most = math.floor(total / lo + eps) if lo > 0 else max(fewest, 1_000_000_000)
    return fewest, most


def check(
    unit_ids: npt.NDArray[np.object_],
    weights: npt.NDArray[np.float64],
    comp: npt.NDArray[np.int64],
    lo: float,
    hi: float,
    k: int | None,
    measure: str,
) -> list[tuple[int, int]]:
    """Check a partition problem; return ``(fewest, most)`` areas per component.

    Raises
    ------
    InfeasibleError
        With the exact reason: a unit above the ceiling, a component below the floor or
        unable to hold a whole number of areas, or a ``k`` the components can't take.
    """
    if lo > hi:
        raise InfeasibleError(f"the band is empty: floor {_fmt(lo)} is above ceiling {_fmt(hi)}")
    over = np.flatnonzero(weights > hi)
    if len(over):
        worst = over[np.argsort(-weights[over], kind="stable")][:3]
        listed = ", ".join(f"unit {unit_ids[i]} holds {_fmt(weights[i])}" for i in worst)
        more = f" (and {len(over) - 3} more units)" if len(over) > 3 else ""
        raise InfeasibleError(
            f"{len(over)} unit(s) alone exceed the ceiling of {_fmt(hi)} {measure}: {listed}{more}"
        )
    ranges: list[tuple[int, int]] = []
    totals = np.bincount(comp, weights=weights)
    sizes = np.bincount(comp)
    for c, total in enumerate(totals):
        fewest, most = part_range(float(total), lo, hi)
        # Each area holds at least one unit (without a floor, part_range has no upper bound).
        most = min(most, int(sizes[c]))
        if fewest > most:
            first = unit_ids[int(np.flatnonzero(comp == c)[0])]
            where = (
                "the unit graph"
                if len(totals) == 1
                else f"connected component {c} ({sizes[c]} units, e.g. unit {first})"
            )
            if total < lo:
                raise InfeasibleError(
                    f"{where} holds {_fmt(total)} {measure}, below the floor of {_fmt(lo)}"
                )
            raise InfeasibleError(
                f"{where} holds {_fmt(total)} {measure}: no whole number of areas fits in "
                f"[{_fmt(lo)}, {_fmt(hi)}] ({fewest} areas need at least "
                f"{_fmt(fewest * lo)}, {most} hold at most {_fmt(most * hi)})"
            )
        ranges.append((fewest, most))
    if k is not None:
        fewest_all = sum(r[0] for r in ranges)
        most_all = sum(r[1] for r in ranges)
        if not fewest_all <= k <= most_all:
            total = float(weights.sum())
            comps = f" in {len(ranges)} components" if len(ranges) > 1 else ""
            raise InfeasibleError(
                f"k = {k} areas can't hold {_fmt(total)} {measure}{comps} within "
                f"[{_fmt(lo)}, {_fmt(hi)}]: between {fewest_all} and {most_all} areas are possible"
            )
    return ranges


def distribute(ranges: list[tuple[int, int]], totals: npt.NDArray[np.float64], k: int) -> list[int]:
    """Share ``k`` areas among components, each within its range, in proportion to size."""
    counts = [r[0] for r in ranges]
    spare = k - sum(counts)
    while spare > 0:
        # Give the next area to the component with the largest average area that can take it.
        best = -1
        best_avg = -1.0
        for c, (_, most) in enumerate(ranges):
            if counts[c] < most:
                avg = float(totals[c]) / counts[c]
                if avg > best_avg:
                    best, best_avg = c, avg
        counts[best] += 1
        spare -= 1
    return counts
