"""Run the server (uvicorn) with its embedded broker when needed, and stop everything cleanly.

Signals are ours, not uvicorn's: Ctrl-C / SIGTERM, or the end of ``--duration``, stop the simulator first,
then the server (which commits and acknowledges what ingest holds), then the embedded broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from server.broker import EmbeddedBroker
from server.core.config import Settings
from server.core.ports import ensure_port_free

log = logging.getLogger(__name__)


@dataclass
class Running:
    """What is up, handed to ``on_ready``: the bound addresses and a way to stop."""

    settings: Settings  # with mqtt_url set to the broker in use
    http_url: str
    broker: EmbeddedBroker | None
    stop: threading.Event


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # we handle signals ourselves (see run_server)
        yield


def start_embedded_broker_if_needed(settings: Settings) -> tuple[Settings, EmbeddedBroker | None]:
    if settings.mqtt_url or not settings.ingest_enabled:  # an API-only worker holds no MQTT session
        return settings, None
    broker = EmbeddedBroker(settings.embedded_mqtt_host, settings.embedded_mqtt_port).start()
    return settings.model_copy(update={"mqtt_url": broker.url, "mqtt_protocol": "3.1.1"}), broker


def run_server(
    settings: Settings,
    *,
    duration: float | None = None,
    on_ready: Callable[[Running], None] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    ensure_port_free(settings.http_host, settings.http_port, "TOUCHPOINTS_HTTP_PORT")
    settings, broker = start_embedded_broker_if_needed(settings)
    try:
        asyncio.run(_serve(settings, broker, duration, on_ready, on_stop))
    finally:
        if broker is not None:
            broker.stop()


async def _serve(
    settings: Settings,
    broker: EmbeddedBroker | None,
    duration: float | None,
    on_ready: Callable[[Running], None] | None,
    on_stop: Callable[[], None] | None,
) -> None:
    from server.app import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_config=None, lifespan="on", access_log=False
    )
    server = _Server(config)
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving  # raises what stopped it
            raise RuntimeError("the HTTP server stopped during start-up")
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    running = Running(settings, f"http://{settings.http_host}:{port}", broker, stop)
    if on_ready is not None:
        on_ready(running)
    deadline = loop.time() + duration if duration else None
    while not stop.is_set() and not serving.done():
        if deadline is not None and loop.time() >= deadline:
            break
        await asyncio.sleep(0.1)
    stop.set()
    if on_stop is not None:
        await asyncio.to_thread(on_stop)
    server.should_exit = True
    await serving
