"""Synthetic lattice unit graphs (benchmarks, tests, scale checks)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridplan.geo.graph import UnitGraph


def lattice_graph(
    rows: int,
    cols: int,
    households: npt.ArrayLike | None = None,
    *,
    cell: float = 100.0,
    road_every: int = 0,
) -> UnitGraph:
    """A ``rows × cols`` rook lattice of square units ``cell`` metres wide.

    Parameters
    ----------
    rows, cols
        Lattice size; node ``r * cols + c`` sits at row ``r``, column ``c``.
    households
        Households per unit (row-major), default 1 each.
    cell
        Side of a unit in metres (shared boundary length).
    road_every
        When positive, every ``road_every``-th lattice line is a ``secondary`` road and the
        other boundaries follow ``local`` streets; when 0 no boundary follows a road.

    Examples
    --------
    >>> g = lattice_graph(2, 3)
    >>> g.n, len(g.edges)
    (6, 7)
    """
    n = rows * cols
    idx = np.arange(n).reshape(rows, cols)
    hu = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    hv = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    # Which lattice line each edge lies on (vertical line after column c, horizontal after row r).
    line = np.concatenate([np.tile(np.arange(1, cols), rows), np.repeat(np.arange(1, rows), cols)])
    if road_every > 0:
        road = np.where(line % road_every == 0, "secondary", "local").astype(object)
    else:
        road = np.full(len(hu), None, dtype=object)
    hh = np.ones(n) if households is None else np.asarray(households, dtype=float).ravel()
    rr, cc = np.divmod(np.arange(n), cols)
    centroids = np.stack([(cc + 0.5) * cell, -(rr + 0.5) * cell], axis=1)
    return UnitGraph(
        unit_ids=np.array([f"u{i}" for i in range(n)], dtype=object),
        households=hh,
        residents=hh * 2.5,
        edges=pd.DataFrame(
            {"u": hu, "v": hv, "length": np.full(len(hu), cell), "road_class": road}
        ),
        centroids=centroids.astype(float),
        areas=np.full(n, cell * cell),
    )


def random_households(
    n: int, low: int = 20, high: int = 80, seed: int = 0
) -> npt.NDArray[np.float64]:
    """Uniform integer households in ``[low, high]`` per unit (seeded)."""
    return np.random.default_rng(seed).integers(low, high + 1, size=n).astype(float)
