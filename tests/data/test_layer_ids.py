"""Tests of the feature id checks in gridplan.data.layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridplan.data.layers import feature_ids, require_present, require_unique
from gridplan.errors import InputError


def test_feature_ids_as_text_in_order() -> None:
    assert feature_ids(pd.Series([3, 1, 2]), "unit_id", "units").tolist() == ["3", "1", "2"]
    assert feature_ids(pd.Series(["社区甲", "社区乙"]), "name", "areas").tolist() == [
        "社区甲",
        "社区乙",
    ]


def test_feature_ids_refuse_missing_and_repeated() -> None:
    with pytest.raises(InputError, match=r"units: feature at row 2 has no unit_id \(and 1 more\)"):
        feature_ids(pd.Series(["a", None, np.nan]), "unit_id", "units")
    with pytest.raises(InputError, match=r"units: duplicate unit_id 'a' \(rows 1 and 3\)$"):
        feature_ids(pd.Series(["a", "b", "a"]), "unit_id", "units")
    many = pd.Series(["x"] * 8 + ["y", "y"])
    with pytest.raises(
        InputError, match=r"duplicate unit_id 'x' \(rows 1, 2, 3, 4, 5 and 3 more\); 1 more id"
    ):
        feature_ids(many, "unit_id", "units")


def test_require_present_counts_the_rest() -> None:
    require_present(np.array(["a", "b"], dtype=object), "area_id", "areas")
    with pytest.raises(InputError, match=r"^areas: feature at row 1 has no area_id$"):
        require_present(np.array([None, "b"], dtype=object), "area_id", "areas")


def test_require_unique_passes_unique_ids() -> None:
    require_unique(np.array(["a", "b"], dtype=object), "compound_id", "compounds")
    with pytest.raises(InputError, match="compounds: duplicate compound_id '小区'"):
        require_unique(np.array(["小区", "b", "小区"], dtype=object), "compound_id", "compounds")
