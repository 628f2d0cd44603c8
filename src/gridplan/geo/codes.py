"""Hierarchical grid codes (网格编码).

A grid code is the 6-digit county code (GB/T 2260) + the 3-digit subdistrict (街道) code + the
3-digit community (社区) code + the 3-digit grid sequence: 15 digits, e.g. ``350582001004007``
is grid 7 of 青新社区 (``004``) in 青阳街道 (``001``), Jinjiang (``350582``). The digit widths are
configurable per jurisdiction (:class:`CodeScheme`).

Grids are numbered west to east, then north to south, like reading a page: grids are put in
rows from north to south, and numbered west to east within each row. A grid starts a new row
when its centroid lies more than ``row_tolerance`` metres south of the centroid of the first
(northernmost) grid of the current row. The default tolerance is half the square root of the
median grid area (half a typical grid's side), so grids whose centres differ by less than half
a grid in latitude share a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridplan.errors import InputError

_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True)
class CodeScheme:
    """How grid codes are built in one jurisdiction.

    Parameters
    ----------
    county
        County-level division code (GB/T 2260), ``county_digits`` digits.
    subdistrict
        Subdistrict code within the county, ``subdistrict_digits`` digits.
    county_digits, subdistrict_digits, community_digits, sequence_digits
        Widths of the four parts (defaults 6 + 3 + 3 + 3).
    row_tolerance
        Metres; ``None`` uses half the square root of the median grid area.

    Examples
    --------
    >>> s = CodeScheme("350582", "001")
    >>> s.code("004", 7)
    '350582001004007'
    """

    county: str
    subdistrict: str
    county_digits: int = 6
    subdistrict_digits: int = 3
    community_digits: int = 3
    sequence_digits: int = 3
    row_tolerance: float | None = None

    def __post_init__(self) -> None:
        _check("county", self.county, self.county_digits)
        _check("subdistrict", self.subdistrict, self.subdistrict_digits)
        for name in ("community_digits", "sequence_digits"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1")

    @property
    def prefix(self) -> str:
        """County + subdistrict digits."""
        return self.county + self.subdistrict

    @classmethod
    def parse(cls, text: str) -> CodeScheme:
        """Parse ``"county,subdistrict"`` (the ``--codes`` option), e.g. ``"350582,001"``.

        A 9-digit subdistrict code that starts with the county code is accepted too
        (``"350582,350582001"``).
        """
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise InputError(f"--codes expects county,subdistrict (e.g. 350582,001), got {text!r}")
        county, sub = parts
        if len(sub) == len(county) + 3 and sub.startswith(county):
            sub = sub[len(county) :]
        return cls(county, sub)

    def community_code(self, code: object, fallback: int) -> str:
        """The community part: from an area's ``code`` (full 12-digit or just the community
        digits), else ``fallback`` (the community's position, 1-based).

        Raises
        ------
        InputError
            If a full code does not start with this scheme's county and subdistrict.
        """
        text = "" if code is None else str(code).strip()
        if text.endswith(".0") and _DIGITS.match(text[:-2]):
            text = text[:-2]
        full = len(self.prefix) + self.community_digits
        if _DIGITS.match(text) and len(text) == full:
            if not text.startswith(self.prefix):
                raise InputError(
                    f"community code {text} is not in county {self.county} "
                    f"subdistrict {self.subdistrict}"
                )
            return text[len(self.prefix) :]
        if _DIGITS.match(text) and len(text) <= self.community_digits:
            return text.zfill(self.community_digits)
        return self._fit(fallback, self.community_digits, "community")

    def code(self, community: str, sequence: int) -> str:
        """The full grid code."""
        _check("community", community, self.community_digits)
        return self.prefix + community + self._fit(sequence, self.sequence_digits, "grid")

    @staticmethod
    def _fit(number: int, digits: int, what: str) -> str:
        if number < 1 or number >= 10**digits:
            raise InputError(f"{what} number {number} does not fit in {digits} digits")
        return str(number).zfill(digits)


def _check(name: str, value: str, digits: int) -> None:
    if not _DIGITS.match(value or "") or len(value) != digits:
        raise InputError(f"{name} code must be {digits} digits, got {value!r}")


def reading_order(
    centroids: npt.NDArray[np.float64],
    row_tolerance: float | None = None,
    areas: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.int64]:
    """Order points west to east, then north to south (rows banded by ``row_tolerance``).

    Parameters
    ----------
    centroids
        ``(n, 2)`` x (east), y (north) in a metric CRS.
    row_tolerance
        Metres; ``None``: half the square root of the median of ``areas`` (or 0 without).
    areas
        Grid areas (m²), for the default tolerance.

    Returns
    -------
    numpy.ndarray
        Indices into ``centroids`` in numbering order.

    Examples
    --------
    Two rows: (0, 100) and (50, 95) share the top row; (10, 0) is alone below::

    >>> import numpy as np
    >>> reading_order(np.array([[10.0, 0.0], [50.0, 95.0], [0.0, 100.0]]), 10.0).tolist()
    [2, 1, 0]
    """
    pts = np.asarray(centroids, dtype=float).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if row_tolerance is None:
        row_tolerance = (
            0.5 * float(np.sqrt(np.median(areas))) if areas is not None and len(areas) else 0.0
        )
    by_y = np.lexsort((pts[:, 0], -pts[:, 1]))
    row = np.empty(n, dtype=np.int64)
    current, top = 0, pts[by_y[0], 1]
    for i in by_y:
        if top - pts[i, 1] > row_tolerance:
            current += 1
            top = pts[i, 1]
        row[i] = current
    return np.lexsort((pts[:, 0], row)).astype(np.int64)
