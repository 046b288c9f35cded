"""The embedded MQTT broker (amqtt) used when no ``TOUCHPOINTS_MQTT_URL`` is configured.

It runs in a thread of its own with its own event loop, so the server, the simulator and tests can start
and stop it from plain synchronous code. It is for demos and tests: the pure-Python broker manages about
1.6k QoS1 messages/s, so production and benchmarks use Mosquitto.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from server.core.ports import ensure_port_free

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """``with EmbeddedBroker(port=0) as broker: broker.url`` -> ``mqtt://127.0.0.1:<port>``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, setting: str = "TOUCHPOINTS_EMBEDDED_MQTT_PORT"):
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self._setting = setting
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("broker not started")
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        ensure_port_free(self.host, self.requested_port, self._setting)
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("embedded MQTT broker did not start in time")
        if self._error is not None:
            raise RuntimeError(f"embedded MQTT broker failed to start: {self._error}") from self._error
        log.info("embedded MQTT broker listening on %s", self.url)
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.requested_port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            self._broker = Broker(config, loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
            server = self._broker._servers["default"].instance
            self.port = server.sockets[0].getsockname()[1]
        except BaseException as exc:  # surfaced to start()'s caller
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    def stop(self) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or not loop.is_running():
            return
        future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            future.result(timeout=10)
        except Exception as exc:  # shutting down: log, never raise over the caller's own cleanup
            log.warning("embedded broker shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
