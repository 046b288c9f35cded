"""A Mosquitto of the test's own: its own generated config, a free port, started and stopped by the test.

Never the machine's broker: tests that restart, reload or lock down a broker do it to this one only.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OwnMosquitto:
    """``start()``/``stop()``/``reload()`` act on the one process this object started, by its pid."""

    directory: Path
    extra: str = ""
    persistence: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1", f"log_dest file {self.directory / 'mosquitto.log'}",
                 "log_type all", f"persistence {'true' if self.persistence else 'false'}",
                 f"persistence_location {self.directory}/", "max_queued_messages 100000",
                 "max_inflight_messages 1000"]  # fmt: skip
        if "allow_anonymous" not in self.extra:
            lines.append("allow_anonymous true")  # Mosquitto 2 refuses anonymous clients on a listener by default
        if os.geteuid() == 0:
            lines.append("user root")  # the temp dir is root's own: stay root to read it (and to reload it)
        return "\n".join(lines) + "\n" + self.extra + "\n"

    def start(self) -> OwnMosquitto:
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "mosquitto.conf"
        conf.write_text(self.config_text())
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.log()}") from None
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log()}")

    def reload(self) -> None:
        assert self.process is not None
        before = self.log().count("Reloading config")
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.log().count("Reloading config") == before:
            time.sleep(0.05)
        time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean stop writes the persistence file
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


class Client:
    """A small paho client for access-control checks: connect result, publish, collected messages."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.connack: mqtt.ReasonCode | int | None = None
        self._connected = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"acl-{uuid.uuid4().hex[:8]}")
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = lambda _c, _u, msg: self.received.append((msg.topic, bytes(msg.payload)))
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._connected.wait(5)

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object) -> None:
        self.connack = reason
        self._connected.set()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure  # type: ignore[union-attr]

    def subscribe(self, topic: str) -> None:
        self._client.subscribe(topic, qos=1)
        time.sleep(0.2)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """False when the broker has closed this connection. Mosquitto acknowledges a refused QoS 1 publish
        too (MQTT 3.1.1 has no way to say no): the proof of a refusal is that the message is not delivered."""
        if not self._client.is_connected():
            return False
        try:
            self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)
        except RuntimeError:  # disconnected meanwhile
            return False
        return True

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
