"""Store faults: read-only stores and file systems, a writer holding the lock, a locked file,
and the copy a killed import leaves behind. Every fault is one line naming the store, and
the store is left as it was."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from pyogrio.errors import DataSourceError
from shapely import Point, box

from gridplan.data.layers import LayerKind
from gridplan.data.store import geopackage
from gridplan.data.store.base import lock_timeout, open_store
from gridplan.data.store.geopackage import GeoPackageStore
from gridplan.errors import InputError, StoreError
from gridplan.plan import Plan


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _facilities(*ids: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": list(ids), "kind": "service_centre", "name": "服务中心"},
        geometry=[Point(118.58 + i * 0.001, 24.8) for i in range(len(ids))],
        crs=4326,
    )


def _plan(name: str = "p") -> Plan:
    assignments = pd.DataFrame({"unit_id": ["u1"], "community_id": ["c1"], "grid_id": [None]})
    areas = gpd.GeoDataFrame(
        {
            "level": ["community"],
            "area_id": ["c1"],
            "name": ["青新社区"],
            "code": ["350582001004"],
            "parent_id": [None],
            "households": [360.0],
            "residents": [1050.0],
            "parts": [1],
        },
        geometry=[box(118.58, 24.8, 118.59, 24.81)],
        crs=4326,
    )
    return Plan(name=name, assignments=assignments, areas=areas)


def _findings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "rule": ["size.under"],
            "severity": ["error"],
            "level": ["community"],
            "area_id": ["c1"],
            "value": [360.0],
            "message": ["c1 has 360 households (< 1000)"],
        },
        geometry=[None],
        crs=4326,
    )


def _writes(store: GeoPackageStore, plan_id: int) -> dict[str, Callable[[], object]]:
    return {
        "import": lambda: store.import_layers({LayerKind.FACILITIES: _facilities("new")}),
        "save a plan": lambda: store.save_plan(_plan("second")),
        "save findings": lambda: store.save_findings(plan_id, _findings()),
    }


@pytest.fixture
def filled(tmp_path: Path) -> GeoPackageStore:
    """A store in its own folder with one facility and one plan."""
    store = GeoPackageStore(tmp_path / "ro" / "gridplan.gpkg")
    store.initialise()
    store.import_layers({LayerKind.FACILITIES: _facilities("a")})
    store.save_plan(_plan("first"))
    return store


def _assert_refused_read_only(store: GeoPackageStore, why: str) -> None:
    before = _digest(store.path)
    for action, write in _writes(store, 1).items():
        with pytest.raises(StoreError) as caught:
            write()
        message = str(caught.value)
        assert "\n" not in message
        assert f"store {store.path} is read-only" in message, message
        assert why in message and f"cannot {action}" in message, message
    assert _digest(store.path) == before
    # reads still work
    assert store.count(LayerKind.FACILITIES) == 1
    assert [p.name for p in store.list_plans()] == ["first"]
    assert store.load_plan(1).name == "first"
    assert store.read_findings(1).empty
    assert not list(store.path.parent.glob(".*.tmp.gpkg*"))


# ---------------------------------------------------------------------- read-only


def test_a_0444_store_is_read_only_even_for_root(filled: GeoPackageStore) -> None:
    os.chmod(filled.path, 0o444)
    _assert_refused_read_only(filled, "file mode -r--r--r--")
    assert stat.S_IMODE(filled.path.stat().st_mode) == 0o444  # not silently undone
    # opening it (initialise included) works: it is already a complete store
    with open_store(filled.path) as again:
        assert again.count(LayerKind.FACILITIES) == 1


def test_a_store_in_a_read_only_folder(filled: GeoPackageStore) -> None:
    folder = filled.path.parent
    os.chmod(folder, 0o555)
    try:
        _assert_refused_read_only(filled, f"folder {folder} mode dr-xr-xr-x")
        with pytest.raises(StoreError, match="is read-only"):
            GeoPackageStore(folder / "new.gpkg").initialise()
        assert not (folder / "new.gpkg").exists()
    finally:
        os.chmod(folder, 0o755)


def test_a_read_only_file_system(filled: GeoPackageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.statvfs

    def read_only(path: Any) -> Any:
        result = real(path)

        class Ro:
            f_flag = result.f_flag | os.ST_RDONLY

        return Ro()

    monkeypatch.setattr(os, "statvfs", read_only)
    _assert_refused_read_only(filled, "read-only file system")


def test_a_write_refused_by_the_os_is_read_only(
    filled: GeoPackageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that turns read-only after the check (EROFS from the copy) is still one
    line, and nothing changes."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(geopackage.shutil, "copyfile", refuse)
    before = _digest(filled.path)
    with pytest.raises(StoreError, match=r"is read-only \(Read-only file system\)"):
        filled.import_layers({LayerKind.FACILITIES: _facilities("b")})
    assert _digest(filled.path) == before


def test_a_write_keeps_the_store_files_mode(filled: GeoPackageStore) -> None:
    os.chmod(filled.path, 0o640)
    filled.import_layers({LayerKind.FACILITIES: _facilities("b")})
    assert stat.S_IMODE(filled.path.stat().st_mode) == 0o640
    assert filled.count(LayerKind.FACILITIES) == 2


# ---------------------------------------------------------------------- lock


@pytest.fixture
def other_writer(filled: GeoPackageStore) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the store's write lock until it is killed."""
    script = textwrap.dedent(
        """
        import fcntl, sys, time
        lock = open(sys.argv[1], "a+b")
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    lock = filled.path.with_name(filled.path.name + ".lock")
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_writer_gives_up_on_a_held_lock(
    filled: GeoPackageStore,
    other_writer: subprocess.Popen[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = GeoPackageStore(filled.path, lock_timeout=0.3)
    before = _digest(store.path)
    for action, write in _writes(store, 1).items():
        started = time.monotonic()
        with (
            caplog.at_level(logging.WARNING, logger="gridplan.store"),
            pytest.raises(StoreError) as caught,
        ):
            write()
        waited = time.monotonic() - started
        message = str(caught.value)
        assert "\n" not in message
        assert f"store {store.path} is locked by another writer (waited 0.3 s)" in message
        assert f"cannot {action}" in message
        assert 0.3 <= waited < 3
    assert "is locked by another writer; waiting up to 0.3 s" in caplog.text
    assert _digest(store.path) == before
    assert store.count(LayerKind.FACILITIES) == 1  # readers are not held up


def test_a_waiting_writer_goes_on_when_the_lock_is_released(
    filled: GeoPackageStore, caplog: pytest.LogCaptureFixture
) -> None:
    lock_path = filled.path.with_name(filled.path.name + ".lock")
    held = threading.Event()

    def hold() -> None:
        with open(lock_path, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            held.set()
            time.sleep(0.4)
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(5)
    store = GeoPackageStore(filled.path, lock_timeout=10)
    with caplog.at_level(logging.WARNING, logger="gridplan.store"):
        store.import_layers({LayerKind.FACILITIES: _facilities("b")})
    thread.join()
    assert "locked by another writer; waiting up to 10 s to import" in caplog.text
    assert store.count(LayerKind.FACILITIES) == 2


def test_the_lock_timeout_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert GeoPackageStore(tmp_path / "a.gpkg").lock_timeout == 30.0
    monkeypatch.setenv("GRIDPLAN_LOCK_TIMEOUT", "2.5")
    assert GeoPackageStore(tmp_path / "a.gpkg").lock_timeout == 2.5
    assert GeoPackageStore(tmp_path / "a.gpkg", lock_timeout=0).lock_timeout == 0.0
    for bad in ("soon", "-1", "inf", "nan"):
        monkeypatch.setenv("GRIDPLAN_LOCK_TIMEOUT", bad)
        with pytest.raises(InputError, match="GRIDPLAN_LOCK_TIMEOUT"):
            lock_timeout()


def test_a_file_locked_by_another_program_is_locked_not_unreadable(
    filled: GeoPackageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GeoPackageStore(filled.path, lock_timeout=0.2)
    with closing(sqlite3.connect(filled.path, isolation_level=None)) as con:
        con.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="is locked by another program") as caught:
            store.count(LayerKind.FACILITIES)
        assert "not a readable" not in str(caught.value)
        con.execute("ROLLBACK")
    assert store.count(LayerKind.FACILITIES) == 1

    def locked(path: Path) -> list[str]:
        raise DataSourceError(f"sqlite3_open({path}) failed: database is locked")

    monkeypatch.setattr(geopackage, "_layer_names", locked)
    with pytest.raises(StoreError, match="is locked by another program") as caught:
        GeoPackageStore(filled.path).initialise()
    assert "not a readable" not in str(caught.value)


# ---------------------------------------------------------------------- killed writer


def test_a_killed_imports_copy_is_removed_at_the_next_open(filled: GeoPackageStore) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        import geopandas as gpd
        from shapely import Point
        from gridplan.data.layers import LayerKind
        from gridplan.data.store import records
        from gridplan.data.store.geopackage import GeoPackageStore

        store = GeoPackageStore(sys.argv[1])
        frame = gpd.GeoDataFrame(
            {"facility_id": ["k"], "kind": "service_centre", "name": "x"},
            geometry=[Point(118.58, 24.8)], crs=4326,
        )
        with store._writing("import") as tmp:
            rows = records.layer_rows(LayerKind.FACILITIES, frame)
            store._write_layer(tmp, LayerKind.FACILITIES, rows, 2)
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    before = _digest(filled.path)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(filled.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        copies = list(filled.path.parent.glob(".gridplan.gpkg.*.tmp.gpkg*"))
        assert copies
        # a live writer's copy is left alone by a reader opening the store
        assert GeoPackageStore(filled.path).count(LayerKind.FACILITIES) == 1
        assert all(c.exists() for c in copies)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert all(c.exists() for c in copies)  # kill -9 runs no clean-up
    with open_store(filled.path, initialise=False, create=False) as store:
        assert store.count(LayerKind.FACILITIES) == 1
    assert not list(filled.path.parent.glob(".gridplan.gpkg.*.tmp.gpkg*"))
    assert _digest(filled.path) == before
    # opening with initialise (the default) sweeps too
    stale = filled.path.with_name(".gridplan.gpkg.deadbeef.tmp.gpkg")
    stale.write_bytes(b"half written")
    open_store(filled.path).close()
    assert not stale.exists()
