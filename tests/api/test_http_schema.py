"""A schemathesis run against the OpenAPI schema on Providence: no request, however odd,
gets a server error (5xx). Bounded: 25 generated cases per operation, derandomised.

(schemathesis' own pytest loader does not work with pytest 9, so the test walks the
operations itself and runs hypothesis on each one's strategy.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = [pytest.mark.postgis, pytest.mark.realdata, pytest.mark.slow]


def test_no_server_errors(providence_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", providence_app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])

        run()
        tested.append(operation.label)
    assert set(tested) >= {
        "GET /",
        "GET /conformance",
        "GET /healthz",
        "GET /collections",
        "GET /collections/{name}",
        "GET /collections/{name}/items",
        "GET /collections/{name}/items/{feature_id}",
        "GET /locate",
        "POST /locate",
        "GET /plans",
        "GET /plans/{plan_id}",
        "GET /plans/{plan_id}/checks",
        "GET /plans/{plan_id}/map",
        "GET /plans/{plan_a}/diff/{plan_b}",
        "POST /scenarios",
    }, tested
