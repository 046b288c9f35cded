"""A running server (FastAPI app with live ingest) against the test database and broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support import ADMIN, LiveServer, RawPublisher, clear_session, seed_small_venue

from server.app import create_app
from server.core.config import Settings, load_settings


@pytest.fixture
def server_settings(
    database_url: str, mqtt_url: str, mqtt_protocol: str, topic_prefix: str, tmp_path: Path
) -> Settings:
    return load_settings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        mqtt_protocol=mqtt_protocol,
        mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=f"test-ingest-{uuid.uuid4().hex[:8]}",
        admin_token=ADMIN,
        var_dir=tmp_path / "var",
    )


@pytest.fixture
def api(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """The HTTP API alone (no ingest), on a migrated database with the small venue."""
    seed_small_venue(engine)
    settings = load_settings(
        database_url=database_url,
        ingest_enabled=False,
        admin_token=ADMIN,
        var_dir=tmp_path / "var",
        public_mqtt_url="mqtts://venue.example:8883",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def live_server(server_settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    """The `engine` fixture has migrated the same database; the venue is seeded before ingest starts."""
    seed_small_venue(engine)
    app = create_app(server_settings)
    publisher = RawPublisher(server_settings.mqtt_url or "")
    with TestClient(app) as client:
        ingest = app.state.runtime.ingest
        assert ingest is not None and ingest.wait_connected(10), "ingest did not connect"
        yield LiveServer(client, server_settings, publisher)
    publisher.close()
    clear_session(server_settings.mqtt_url or "", server_settings.mqtt_client_id)
