"""The staff roster and service figures in both stores: replaced whole, read back the same,
validated before anything is written; an older GeoPackage store gains the tables."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from gridplan.data.store.base import Store
from gridplan.data.store.geopackage import STORE_VERSION, GeoPackageStore
from gridplan.errors import InputError

ROSTER = pd.DataFrame(
    {
        "name": ["王芳", "李强", "Anna"],
        "role": ["专职网格员", "part-time", ""],
        "grid_code": ["350582001004001", "350582001004001", 350582001004002],
    }
)


def test_roster_round_trip_and_replace(store: Store) -> None:
    assert store.read_staff().empty
    assert store.save_staff(ROSTER) == 3
    back = store.read_staff()
    assert back.to_dict(orient="list") == {
        "name": ["王芳", "李强", "Anna"],
        "role": ["专职网格员", "part-time", ""],
        "grid_code": ["350582001004001", "350582001004001", "350582001004002"],
    }
    assert store.save_staff(ROSTER.iloc[:1]) == 1
    assert store.read_staff()["name"].tolist() == ["王芳"]


def test_bad_roster_changes_nothing(store: Store) -> None:
    store.save_staff(ROSTER)
    bad = ROSTER.assign(grid_code=pd.Series(["350582001004001", "", None], dtype=object))
    with pytest.raises(InputError, match=r"row\(s\) '2', '3'|row\(s\) 2, 3"):
        store.save_staff(bad)
    with pytest.raises(InputError, match="no column"):
        store.save_staff(ROSTER.drop(columns="grid_code"))
    assert len(store.read_staff()) == 3


def test_service_round_trip(store: Store) -> None:
    table = pd.DataFrame(
        {
            "code": ["004", "005"],
            "volunteers": ["120", ""],
            "new_households": ["3", "0"],
            "model": ["是", "no"],
        }
    )
    assert store.save_service(table) == 2
    back = store.read_service()
    assert back["code"].tolist() == ["004", "005"]
    assert back["volunteers"].iloc[0] == 120.0 and pd.isna(back["volunteers"].iloc[1])
    assert back["model"].tolist() == [True, False]
    with pytest.raises(InputError, match="twice"):
        store.save_service(table.assign(code=["004", "004"]))
    with pytest.raises(InputError, match="volunteers"):
        store.save_service(table.assign(volunteers=["-1", "x"]))
    assert len(store.read_service()) == 2


def test_an_older_geopackage_store_gains_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.gpkg"
    GeoPackageStore(path).initialise()
    with closing(sqlite3.connect(path)) as con, con:  # make it a 0002 store
        for table in ("staff", "service"):
            con.execute(f"DROP TABLE {table}")
            con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (table,))
        con.execute("UPDATE gridplan_store SET value = '0002' WHERE key = 'version'")
    copy = tmp_path / "copy.gpkg"
    shutil.copyfile(path, copy)
    store = GeoPackageStore(copy)
    store.initialise()
    assert store.read_staff().empty
    assert store.save_staff(ROSTER) == 3
    with closing(sqlite3.connect(copy)) as con:
        version = con.execute("SELECT value FROM gridplan_store WHERE key = 'version'").fetchone()
    assert version[0] == STORE_VERSION == "0003"
