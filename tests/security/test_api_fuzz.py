"""API fuzzing with schemathesis against the OpenAPI schema, as an organizer: no 5xx, no response outside the
schema. Bounded: a few examples per operation (the whole run stays well under 90 s)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from support import ADMIN, AUTH

from server.app import create_app
from server.core.config import load_settings
from server.store.db import make_engine, migrate

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = int(os.environ.get("TOUCHPOINTS_API_FUZZ_EXAMPLES", "10"))  # per operation: ~110 operations
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _app() -> Any:
    from route_matrix import seed

    directory = Path(tempfile.mkdtemp(prefix="tp-api-fuzz-"))
    url = f"sqlite:///{directory / 'fuzz.db'}"
    engine = make_engine(url)
    migrate(engine)
    seed(engine)
    engine.dispose()
    settings_ = load_settings(database_url=url, ingest_enabled=False, admin_token=ADMIN, var_dir=directory / "var")
    return create_app(settings_)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_response_fits_the_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


def test_found_by_fuzzing_an_event_time_the_venue_cannot_export_is_refused(tmp_path: Path) -> None:
    """PUT /api/v1/event took any float and any time zone; GET /api/v1/venue then failed with 500."""
    from fastapi.testclient import TestClient

    settings_ = load_settings(database_url=f"sqlite:///{tmp_path / 'e.db'}", ingest_enabled=False,
                              admin_token=ADMIN, var_dir=tmp_path / "var")  # fmt: skip
    with TestClient(create_app(settings_)) as client:
        good = {"name": "Conf", "starts_at": 1_780_000_000, "ends_at": 1_780_030_000}
        assert client.put("/api/v1/event", json={**good, "starts_at": 5e-297}, headers=AUTH).status_code == 422
        assert client.put("/api/v1/event", json={**good, "ends_at": 6e227}, headers=AUTH).status_code == 422
        assert client.put("/api/v1/event", json={**good, "timezone": "Mars/Olympus"}, headers=AUTH).status_code == 422
        assert client.put("/api/v1/event", json=good, headers=AUTH).status_code == 200
        assert client.get("/api/v1/venue", headers=AUTH).status_code == 200
