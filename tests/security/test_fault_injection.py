"""Fault injection: the broker restarts during ingest (a Mosquitto of the test's own, persistence on).

Exact counts at the end: every message the broker acknowledged is stored once, nothing lost, nothing doubled.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from mosquitto_support import MOSQUITTO, OwnMosquitto
from sqlalchemy import Engine, func, select
from support import ADMIN, seed_small_venue, tap, wait_until

from server.app import create_app
from server.core.config import load_settings
from server.store.models import IngestedMessage, Touchpoint

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="needs the mosquitto binary")

PER_PHASE = 400


def stored(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(Touchpoint)).scalar_one()
        seqs = conn.execute(select(func.count(func.distinct(Touchpoint.seq)))).scalar_one()
        keys = conn.execute(select(func.count()).select_from(IngestedMessage)).scalar_one()
    return int(rows), int(seqs), int(keys)


def test_a_broker_restart_during_ingest_loses_and_duplicates_nothing(
    database_url: str, engine: Engine, topic_prefix: str, tmp_path: Path
):
    seed_small_venue(engine)
    broker = OwnMosquitto(tmp_path / "mosquitto", persistence=True).start()
    settings = load_settings(
        database_url=database_url, mqtt_url=broker.url, mqtt_protocol="5", mqtt_topic_prefix=topic_prefix,
        mqtt_client_id=f"fault-{uuid.uuid4().hex[:8]}", admin_token=ADMIN, var_dir=tmp_path / "var",
        ingest_batch_max=20,
    )  # fmt: skip
    app = create_app(settings)
    topic = f"{topic_prefix}/v1/demo/door-1/tap"
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}",
                            clean_session=False)  # fmt: skip
    publisher.max_inflight_messages_set(50)
    try:
        with TestClient(app):
            ingest = app.state.runtime.ingest
            assert ingest is not None and ingest.wait_connected(10)
            publisher.connect("127.0.0.1", broker.port)
            publisher.loop_start()
            infos = [publisher.publish(topic, tap(seq).to_json(), qos=1) for seq in range(PER_PHASE)]
            for info in infos:
                info.wait_for_publish(timeout=30)
            # Mid-stream: ingest has stored some, the broker holds the rest for its persistent session.
            broker.stop()  # SIGTERM: Mosquitto writes its persistence file
            at_stop = stored(engine)[0]
            assert wait_until(lambda: not ingest.connected, timeout=10)
            broker.start()
            assert wait_until(lambda: ingest.connected, timeout=30), "ingest did not reconnect"
            infos = [publisher.publish(topic, tap(seq).to_json(), qos=1) for seq in range(PER_PHASE, 2 * PER_PHASE)]
            for info in infos:
                info.wait_for_publish(timeout=30)
            assert wait_until(lambda: stored(engine)[0] >= 2 * PER_PHASE, timeout=60), stored(engine)
            assert stored(engine) == (2 * PER_PHASE, 2 * PER_PHASE, 2 * PER_PHASE)
            print(f"broker restart: {at_stop} of {PER_PHASE} stored when it stopped; all {2 * PER_PHASE} at the end")
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        broker.stop()


def test_database_loss_and_restart_during_ingest_loses_and_duplicates_nothing(
    topic_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Our own PostgreSQL stops mid-stream (fast shutdown drops every connection) while devices keep sending;
    ingest retries, the broker keeps the unacknowledged messages, and after the restart all are stored once."""
    from postgres_support import OwnPostgres

    from server.store.db import make_engine, migrate

    # The device directory goes stale within the outage, so that batches meet a failing reload too.
    monkeypatch.setattr("server.ingest.directory.MAX_AGE_S", 0.5)
    database = OwnPostgres().init()
    broker = OwnMosquitto(tmp_path / "mosquitto").start()
    try:
        database.start()
        engine = make_engine(database.url)
        migrate(engine)
        seed_small_venue(engine)
        settings = load_settings(
            database_url=database.url, mqtt_url=broker.url, mqtt_protocol="5", mqtt_topic_prefix=topic_prefix,
            mqtt_client_id=f"dbfault-{uuid.uuid4().hex[:8]}", admin_token=ADMIN, var_dir=tmp_path / "var",
            ingest_batch_max=20,
        )  # fmt: skip
        app = create_app(settings)
        topic = f"{topic_prefix}/v1/demo/door-1/tap"
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
        publisher.max_inflight_messages_set(50)
        with TestClient(app):
            ingest = app.state.runtime.ingest
            assert ingest is not None and ingest.wait_connected(10)
            publisher.connect("127.0.0.1", broker.port)
            publisher.loop_start()
            for info in [publisher.publish(topic, tap(seq).to_json(), qos=1) for seq in range(PER_PHASE)]:
                info.wait_for_publish(timeout=30)
            assert wait_until(lambda: stored(engine)[0] >= 50, timeout=30)
            at_stop = stored(engine)[0]
            database.stop("fast")
            # Devices keep sending while the database is away.
            for info in [
                publisher.publish(topic, tap(seq).to_json(), qos=1) for seq in range(PER_PHASE, 2 * PER_PHASE)
            ]:
                info.wait_for_publish(timeout=30)
            assert wait_until(lambda: app.state.runtime.metrics.store_errors._value.get() > 0, timeout=15)
            database.start()
            assert wait_until(lambda: stored(engine)[0] >= 2 * PER_PHASE, timeout=90), stored(engine)
            assert stored(engine) == (2 * PER_PHASE, 2 * PER_PHASE, 2 * PER_PHASE)
            # A second outage while ingest is idle and its directory stale: the next batch meets a failing
            # directory reload before its commit (that once dropped the batch, unacknowledged, until a reconnect).
            time.sleep(0.6)
            database.stop("fast")
            for info in [
                publisher.publish(topic, tap(seq).to_json(), qos=1) for seq in range(2 * PER_PHASE, 3 * PER_PHASE)
            ]:
                info.wait_for_publish(timeout=30)
            time.sleep(1.0)
            database.start()
            assert wait_until(lambda: stored(engine)[0] >= 3 * PER_PHASE, timeout=90), stored(engine)
            time.sleep(0.5)
            assert stored(engine) == (3 * PER_PHASE, 3 * PER_PHASE, 3 * PER_PHASE)
            print(f"database restarts: {at_stop} stored when it first stopped; all {3 * PER_PHASE} at the end")
        publisher.disconnect()
        publisher.loop_stop()
        engine.dispose()
    finally:
        broker.stop()
        database.destroy()
