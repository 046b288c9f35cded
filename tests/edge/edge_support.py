"""Helpers for the edge tests: an MQTT collector, free ports and agent settings on a test's own topics."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import EdgeSettings, parse_mqtt_url

T0 = 1_764_000_000.0  # 2025-11-24, a plausible event day; every test drives time from here


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


class MqttCollector:
    """Subscribes to a topic filter and keeps every message (topic, decoded JSON, retained flag)."""

    def __init__(self, url: str, topic_filter: str) -> None:
        endpoint = parse_mqtt_url(url)
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        self._client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect(endpoint.host, endpoint.port)
        self._client.loop_start()
        assert self._subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if not message.payload:
            return
        with self._lock:
            self.messages.append((message.topic, orjson.loads(message.payload), bool(message.retain)))

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [payload for _, payload, _ in self.messages if payload.get("type") == kind]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def collector_factory() -> Iterator[Callable[[str, str], MqttCollector]]:
    collectors: list[MqttCollector] = []

    def make(url: str, topic_filter: str) -> MqttCollector:
        collector = MqttCollector(url, topic_filter)
        collectors.append(collector)
        return collector

    yield make
    for collector in collectors:
        collector.close()


def agent_settings(tmp_path: Path, mqtt_url: str, prefix: str, **overrides: Any) -> EdgeSettings:
    data: dict[str, Any] = {
        "device_id": "door-1",
        "event_id": "demo",
        "mqtt": {"url": mqtt_url, "topic_prefix": prefix, "reconnect_min_s": 1, "reconnect_max_s": 2},
        "ble": {"enabled": False},
        "spool": {"dir": str(tmp_path / "spool")},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            data[key] = {**data.get(key, {}), **value}
        else:
            data[key] = value
    return EdgeSettings.model_validate(data)
