"""The attendee app against a real app: a local SMTP server (aiosmtpd) catches sign-in codes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from app_support import Inbox, free_port, seed_app_venue
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from support import ADMIN, LiveServer, RawPublisher, clear_session

from server.app import create_app
from server.core.config import Settings, load_settings


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def _protocol(mqtt_url: str) -> dict[str, str]:
    """Real Mosquitto (configured) speaks MQTT 5, the embedded test broker 3.1.1."""
    real = bool(os.environ.get("TOUCHPOINTS_TEST_MQTT_URL"))
    return {"mqtt_protocol": "5" if real else "3.1.1"} if "mqtt_protocol" in Settings.model_fields else {}


@pytest.fixture
def app_settings(database_url: str, tmp_path: Path, smtp: Inbox) -> Settings:
    return load_settings(database_url=database_url, ingest_enabled=False, admin_token=ADMIN,
                         var_dir=tmp_path / "var", smtp_url=smtp.url, mail_from="event@example.com")  # type: ignore[attr-defined]  # fmt: skip


@pytest.fixture
def app(app_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The whole HTTP app (no ingest) with the app venue."""
    seed_app_venue(engine)
    with TestClient(create_app(app_settings)) as client:
        yield client


@pytest.fixture
def live_app(database_url: str, mqtt_url: str, topic_prefix: str, tmp_path: Path, smtp: Inbox,
             engine: Engine) -> Iterator[LiveServer]:  # fmt: skip
    """The app with ingest and live presence on the test broker."""
    seed_app_venue(engine)
    settings = load_settings(
        database_url=database_url, mqtt_url=mqtt_url, mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=f"test-ingest-{uuid.uuid4().hex[:8]}", admin_token=ADMIN, var_dir=tmp_path / "var",
        smtp_url=smtp.url, **_protocol(mqtt_url),  # type: ignore[attr-defined]
    )  # fmt: skip
    application = create_app(settings)
    publisher = RawPublisher(mqtt_url)
    with TestClient(application) as client:
        ingest = application.state.runtime.ingest
        assert ingest is not None and ingest.wait_connected(10), "ingest did not connect"
        yield LiveServer(client, settings, publisher)
    publisher.close()
    clear_session(mqtt_url, settings.mqtt_client_id)
