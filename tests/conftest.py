"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and MQTT brokers.

With ``TOUCHPOINTS_TEST_POSTGRES_URL`` / ``TOUCHPOINTS_TEST_MQTT_URL`` set (as CI does), the tests that need
those services use them and *fail* when they are unreachable. Without them, database tests run on SQLite
only, MQTT tests use the embedded broker, and tests that need a real Mosquitto are skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from server.core.config import parse_mqtt_url
from server.store.db import make_engine, migrate

POSTGRES_URL = os.environ.get("TOUCHPOINTS_TEST_POSTGRES_URL") or None
MQTT_URL = os.environ.get("TOUCHPOINTS_TEST_MQTT_URL") or None
REDIS_URL = os.environ.get("TOUCHPOINTS_TEST_REDIS_URL") or None  # scale-out tests (tests/server/scaleout)
DATABASES = ["sqlite", "postgres"]


def _require_tcp(url: str, what: str, variable: str) -> None:
    endpoint = parse_mqtt_url(url) if url.startswith("mqtt") else None
    host, port = (endpoint.host, endpoint.port) if endpoint else _pg_host_port(url)
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{variable} is set but {what} at {host}:{port} is unreachable: {exc}", pytrace=False)


def _pg_host_port(url: str) -> tuple[str, int]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or (6379 if url.startswith("redis") else 5432)


def postgres_sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'touchpoints.db'}"
        return
    if POSTGRES_URL is None:
        pytest.skip("PostgreSQL variant: set TOUCHPOINTS_TEST_POSTGRES_URL")
    _require_tcp(POSTGRES_URL, "PostgreSQL", "TOUCHPOINTS_TEST_POSTGRES_URL")
    base = postgres_sqlalchemy_url(POSTGRES_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    eng = make_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """A broker: the configured real one, or an embedded broker for this test session."""
    if MQTT_URL:
        _require_tcp(MQTT_URL, "the MQTT broker", "TOUCHPOINTS_TEST_MQTT_URL")
        yield MQTT_URL
        return
    from server.broker import EmbeddedBroker

    with EmbeddedBroker(port=0) as broker:
        yield broker.url


@pytest.fixture(scope="session")
def mqtt_protocol(mqtt_url: str) -> str:
    """The embedded broker (amqtt) speaks MQTT 3.1.1; Mosquitto gets the ingest's default, MQTT 5."""
    return "5" if MQTT_URL else "3.1.1"


@pytest.fixture
def real_mqtt_url() -> str:
    """A real Mosquitto; tests that need its persistence guarantees use this."""
    if not MQTT_URL:
        pytest.skip("needs a real broker: set TOUCHPOINTS_TEST_MQTT_URL")
    _require_tcp(MQTT_URL, "the MQTT broker", "TOUCHPOINTS_TEST_MQTT_URL")
    return MQTT_URL


@pytest.fixture
def redis_url() -> str:
    """A real Redis (the scale-out tests): skipped without TOUCHPOINTS_TEST_REDIS_URL, failed if unreachable."""
    if not REDIS_URL:
        pytest.skip("needs Redis: set TOUCHPOINTS_TEST_REDIS_URL")
    _require_tcp(REDIS_URL, "Redis", "TOUCHPOINTS_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix of this test's own, so tests sharing a broker never see each other's messages."""
    return f"tpt{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A CLI run in-process (typer's CliRunner) may install a root handler on a stream that closes with it;
    later threads logging into it print "Logging error" noise. Each test gets the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
