"""Tests of grid codes and their numbering order (gridplan.geo.codes)."""

from __future__ import annotations

import numpy as np
import pytest

from gridplan.data.reference import (
    JINJIANG_COUNTY_CODE,
    QINGYANG_SUBDISTRICT_CODE,
    qingyang_communities,
)
from gridplan.errors import InputError
from gridplan.geo.codes import CodeScheme, reading_order


def test_code_layout() -> None:
    scheme = CodeScheme("350582", "001")
    assert scheme.code("004", 7) == "350582001004007"
    assert len(scheme.code("004", 999)) == 15


def test_community_code_from_full_or_short_codes() -> None:
    scheme = CodeScheme("350582", "001")
    assert scheme.community_code("350582001013", 1) == "013"
    assert scheme.community_code("13", 1) == "013"
    assert scheme.community_code(None, 5) == "005"
    assert scheme.community_code("青新", 2) == "002"
    with pytest.raises(InputError, match="not in county"):
        scheme.community_code("350583001013", 1)


def test_qingyang_reference_codes_fit_the_scheme() -> None:
    scheme = CodeScheme.parse(f"{JINJIANG_COUNTY_CODE},{QINGYANG_SUBDISTRICT_CODE}")
    assert scheme.subdistrict == "001"
    table = qingyang_communities()
    parts = [scheme.community_code(c, 0) for c in table["code"]]
    assert parts == [f"{i:03d}" for i in range(4, 18)]
    assert scheme.code(parts[0], 1) == "350582001004001"


def test_parse_and_validation() -> None:
    assert CodeScheme.parse("350582, 001").prefix == "350582001"
    with pytest.raises(InputError, match="county,subdistrict"):
        CodeScheme.parse("350582")
    with pytest.raises(InputError, match="6 digits"):
        CodeScheme("35058", "001")
    with pytest.raises(InputError, match="does not fit"):
        CodeScheme("350582", "001").code("004", 1000)
    wide = CodeScheme("3505", "01", county_digits=4, subdistrict_digits=2, sequence_digits=4)
    assert wide.code("004", 12) == "3505010040012"


def test_reading_order_rows() -> None:
    """Six grid centres in two rows (tolerance 20 m), numbered like reading a page::

    y=95..105   1:(0, 95)   2:(100, 105)   3:(200, 100)
    y=-3..5     4:(10, 5)   5:(150, -3)    6:(190, 0)
    """
    pts = np.array([[200, 100], [0, 95], [100, 105], [190, 0], [10, 5], [150, -3]], dtype=float)
    order = reading_order(pts, 20.0)
    assert order.tolist() == [1, 2, 0, 4, 5, 3]


def test_reading_order_default_tolerance_from_areas() -> None:
    """Grids of 100 x 100 m: tolerance 50 m, so centres 40 m apart in y share a row."""
    pts = np.array([[100, 0], [0, 40], [0, -100]], dtype=float)
    order = reading_order(pts, None, np.full(3, 10000.0))
    assert order.tolist() == [1, 0, 2]
    # without areas the tolerance is 0: strictly by latitude first
    assert reading_order(pts).tolist() == [1, 0, 2]
    assert reading_order(np.empty((0, 2))).tolist() == []
