"""The ingest queue is bounded in payload bytes, not only in messages: back-pressure instead of memory."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from sqlalchemy import Engine

from server.core.metrics import Metrics
from server.ingest.consumer import IngestConfig, IngestConsumer
from server.ingest.directory import Directory

MIB = 1024 * 1024


def message(mid: int, size: int) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(mid=mid, topic=b"touchpoints/v1/demo/door-1/sightings")
    msg.payload = b"x" * size
    msg.qos = 1
    return msg


def test_a_full_byte_budget_holds_the_network_thread_until_the_writer_frees_room(engine: Engine) -> None:
    config = IngestConfig(mqtt_url="mqtt://127.0.0.1:1", client_id="bound-test", prefix="touchpoints",
                          event_id="demo", max_payload_bytes=MIB, queue_max_bytes=MIB)  # fmt: skip
    consumer = IngestConsumer(config, engine, Directory(engine, "demo"), Metrics())  # not started: no writer
    consumer._on_message(None, None, message(1, 3 * MIB))  # type: ignore[arg-type]  # alone: always admitted
    consumer._on_message(None, None, message(2, 0))  # type: ignore[arg-type]  # an empty payload costs nothing
    delivered = threading.Event()
    network = threading.Thread(
        target=lambda: (consumer._on_message(None, None, message(3, 100)), delivered.set()),  # type: ignore[arg-type,func-returns-value]
        daemon=True,
    )
    network.start()
    assert not delivered.wait(0.3)  # over budget: the "network thread" waits (the socket is not read)
    assert consumer.queue_depth == 2
    with consumer._room:  # what the writer does once it has processed the first message
        consumer._queued_bytes -= 3 * MIB
        consumer._room.notify_all()
    assert delivered.wait(10)
    assert consumer.queue_depth == 3
