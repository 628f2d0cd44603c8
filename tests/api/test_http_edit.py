"""``POST /plans/{id}/edits`` and the editor page over HTTP, on a copy of the demo's store
(plans 1, 2 and 3: plan 3 the latest)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gridplan.api.app import create_app
from gridplan.data.store import open_store
from gridplan.ops.demo import DemoConfig, run_demo
from gridplan.settings import Settings

pytestmark = pytest.mark.slow

TOKEN = "edit-token-7c1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_demo(DemoConfig(out_dir=tmp_path_factory.mktemp("demo"), seed=1)).store


@pytest.fixture
def db(demo_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "gridplan.gpkg"
    shutil.copy(demo_db, copy)
    return copy


@pytest.fixture
def client(db: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(db), api_token=TOKEN), refresh_seconds=0.0)
    with TestClient(app) as c:
        yield c


def _a_move(client: TestClient, plan: int) -> tuple[dict[str, str], dict[str, object]]:
    """A unit on a community boundary and the community across it."""
    data = client.get(f"/plans/{plan}/edit/data").json()
    units = data["units"]
    for i, nbs in enumerate(units["neighbours"]):
        for j in nbs:
            if units["community"][j] != units["community"][i]:
                return {"unit": units["id"][i], "to": units["community"][j]}, {
                    "from": units["community"][i],
                    "households": units["households"][i],
                }
    raise AssertionError("no boundary unit")


def test_preview_200_stores_nothing(client: TestClient, db: Path) -> None:
    move, where = _a_move(client, 3)
    before = {
        c["id"]: c for c in client.post("/plans/3/edits", json={"moves": []}).json()["communities"]
    }
    r = client.post("/plans/3/edits", json={"moves": [move]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["plan_id"] == 3 and doc["stale"] is False and doc["message"] is None
    assert doc["incremental"] is True and doc["check_ms"] > 0
    after = {c["id"]: c for c in doc["communities"]}
    assert set(after[move["to"]]) >= {
        "id",
        "code",
        "name",
        "households",
        "residents",
        "in_band",
        "parts",
    }
    hh = float(where["households"])  # type: ignore[arg-type]
    assert after[move["to"]]["households"] == pytest.approx(
        before[move["to"]]["households"] + hh, abs=0.02
    )
    src = str(where["from"])
    assert after[src]["households"] == pytest.approx(before[src]["households"] - hh, abs=0.02)
    assert all(
        {"rule", "severity", "area_id", "value", "message"} <= set(f) for f in doc["findings"]
    )
    assert doc["grids"]  # the grids the unit left and joined
    s = open_store(db)
    assert s.latest_plan_id() == 3  # nothing stored
    s.close()


def test_save_201_with_token_and_401_without(client: TestClient, db: Path) -> None:
    move, _ = _a_move(client, 3)
    body = {"moves": [move, {"unit": move["unit"], "to": "湖光社区"}], "name": "手工调整"}
    r = client.post("/plans/3/edits?save=true", json=body)
    assert r.status_code == 401 and "Bearer" in r.json()["description"]
    r = client.post("/plans/3/edits?save=true", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.post("/plans/3/edits?save=true", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["parent"] == 3 and doc["plan_id"] == 4
    assert doc["checks"]["community"]["findings"] >= 1
    assert client.get("/plans/4").json()["parent_id"] == 3
    s = open_store(db)
    plan = s.load_plan(4)
    assert plan.name == "手工调整" and "湖光社区" in set(plan.areas["name"])
    assert (
        len(s.read_findings(4))
        == doc["checks"]["community"]["findings"]
        + doc["checks"].get("grid", {"findings": 0})["findings"]
    )
    s.close()
    # plan 3 is no longer the latest: a preview says so, a save is a 409 unless forced
    doc = client.post("/plans/3/edits", json={"moves": [move]}).json()
    assert doc["stale"] is True and doc["latest_plan"] == 4 and "plan 4" in doc["message"]
    r = client.post("/plans/3/edits?save=true", json={"moves": [move]}, headers=AUTH)
    assert r.status_code == 409 and "no longer the latest" in r.json()["description"]
    r = client.post("/plans/3/edits?save=true&force=true", json={"moves": [move]}, headers=AUTH)
    assert r.status_code == 201 and r.json()["parent"] == 3


def test_unknown_unit_community_and_plan(client: TestClient) -> None:
    r = client.post("/plans/3/edits", json={"moves": [{"unit": "no-such-unit", "to": "1"}]})
    assert r.status_code == 404 and "no-such-unit" in r.json()["description"]
    move, _ = _a_move(client, 3)
    r = client.post("/plans/3/edits", json={"moves": [{**move, "to": "不存在社区", "new": False}]})
    assert r.status_code == 404 and "不存在社区" in r.json()["description"]
    r = client.post("/plans/77/edits", json={"moves": []})
    assert r.status_code == 404 and "77" in r.json()["description"]
    r = client.post("/plans/3/edits", json={"moves": [{"unit": move["unit"], "to": ""}]})
    assert r.status_code == 422 and "to" in r.json()["description"]
    r = client.post("/plans/3/edits", json={"moves": [{"unit": move["unit"]}]})
    assert r.status_code == 422
    r = client.post("/plans/3/edits", json={"moves": [{**move, "new": True}]})
    assert r.status_code == 400 and "existing community" in r.json()["description"]
    assert client.get("/plans/77/edit").status_code == 404


def test_openapi_documents_the_contract(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/plans/{plan_id}/edits"]["post"]
    assert {"200", "201", "401", "404", "409", "422"} <= set(op["responses"])
    schemas = spec["components"]["schemas"]
    assert {"EditIn", "MoveIn", "PreviewOut", "SavedOut", "CommunityOut"} <= set(schemas)
    assert {"unit", "to", "new"} <= set(schemas["MoveIn"]["properties"])
    names = {p["name"] for p in op["parameters"]}
    assert {"save", "force", "geometry", "grids"} <= names


def test_editor_page_and_assets_offline(client: TestClient) -> None:
    page = client.get("/plans/3/edit")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'data-plan="3"' in html and "/editor/editor.js" in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere
    for asset in ("editor.js", "editor.css", "leaflet/leaflet.js", "leaflet/leaflet.css",
                  "leaflet/images/layers.png"):  # fmt: skip
        r = client.get(f"/editor/{asset}")
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert client.get("/editor/../settings.py").status_code == 404
    data = client.get("/plans/3/edit/data").json()
    assert len(data["units"]["id"]) == len(data["units"]["geometry"]) == len(data["units"]["point"])
    assert {c["id"] for c in data["communities"]} == set(data["units"]["community"]) - {None}
    assert all(c["colour"].startswith("#") for c in data["communities"])


def test_grid_checks_and_finding_geometry_on_request(client: TestClient) -> None:
    move, _ = _a_move(client, 3)
    doc = client.post("/plans/3/edits?grids=true&geometry=true", json={"moves": [move]}).json()
    levels = {f["level"] for f in doc["findings"]}
    assert "grid" in levels
    assert all(f["geometry"] is None or "type" in f["geometry"] for f in doc["findings"])
