"""Tests of the shipped reference facts (gridplan.data.reference)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridplan.data.reference import (
    load_overrides,
    named_assignments_path,
    normalise_name,
    qingyang_communities,
)
from gridplan.errors import InputError

#: The named assignments of the policy text (DESIGN.md, "Compounds merge into communities").
POLICY = {
    "新世纪豪园": "青新社区",
    "市直机关宿舍楼": "青新社区",
    "镇长楼": "青新社区",
    "银星花园": "青新社区",
    "阳光时代广场": "阳光社区",
    "福隆广场": "锦青社区",
    "世纪公园": "洪宅垵社区",
    "豪富花园": "洪宅垵社区",
    "机场生活区": "高霞社区",
    "市公安局宿舍": "普照社区",
}


def test_named_assignments_match_the_policy_text() -> None:
    table = load_overrides()
    assert dict(zip(table["compound"], table["community"], strict=True)) == POLICY
    assert named_assignments_path().is_file()


def test_every_named_community_is_a_qingyang_community() -> None:
    names = set(qingyang_communities()["name"])
    assert set(POLICY.values()) <= names


def test_qingyang_communities_match_the_shared_division_codes(shared_data: Path) -> None:
    ours = qingyang_communities()
    assert len(ours) == 14
    assert ours["code"].tolist() == [f"350582001{i:03d}" for i in range(4, 18)]
    nbs = pd.read_csv(shared_data / "qingyang" / "jinjiang_villages_2023.csv", dtype=str)
    nbs = nbs.drop_duplicates("code").set_index("code")
    for row in ours.itertuples():
        assert nbs.loc[row.code, "name"] == row.official_name
        assert row.official_name == f"{row.name}居委会"
    assert set(ours["subdistrict_code"]) == {"350582001"}


def test_normalise_name() -> None:
    assert normalise_name("\u3000福隆 广场\t") == "福隆广场"
    assert normalise_name("ＡＢＣ") == normalise_name("abc")
    assert normalise_name(None) == ""
    assert normalise_name(float("nan")) == ""


def test_override_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        load_overrides(tmp_path)  # a directory: was a raw IsADirectoryError
    with pytest.raises(InputError, match="not found"):
        load_overrides(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("compound,where\na,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        load_overrides(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("compound,community\na,\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2: empty community"):
        load_overrides(empty)
    conflict = tmp_path / "conflict.csv"
    conflict.write_text("compound,community\n福隆广场,锦青社区\n福隆\u3000广场,青新社区\n", "utf-8")
    with pytest.raises(InputError, match="different communities on lines 2, 3"):
        load_overrides(conflict)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffCompound,Community\n镇长楼,青新社区\n".encode())
    assert load_overrides(bom)["community"].tolist() == ["青新社区"]
