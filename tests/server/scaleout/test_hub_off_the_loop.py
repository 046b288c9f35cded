"""With scale-out, the Redis calls of async code run in worker threads: a Redis that stops answering makes the
dashboard feed, a new WebSocket (dashboard, attendee app, notifications) or a registration import's "venue
changed" late, never the event loop that serves every WebSocket of the process."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import WebSocketDisconnect

import mobile_api.routes.legacy_notifications as notifications
import mobile_api.ws as app_ws
import server.api.routes.registrations as registrations
from server.dashboard.feed import TOPIC_ALL, DashboardFeed
from server.live.hub import Hub, subscribe_in_thread
from server.live.redis_hub import SOCKET_TIMEOUT_S, SUBSCRIBE_WAIT_S, RedisHub
from server.pipeline import LivePipeline
from server.runtime import Runtime
from server.venue.report import ImportReport

BEAT_S = 0.05  # the loop's heartbeat in these tests
# The loop may be late by scheduling noise, never by a Redis timeout (SOCKET_TIMEOUT_S = 1 s per call).
LOOP_LATE_MAX_S = 0.2


@contextmanager
def unresponsive_redis() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung Redis, not a stopped one)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


class StillVenue(DashboardFeed):
    """The feed with nothing changing: every tick only counts watchers, every second the heartbeat publishes."""

    def sample(self) -> dict[str, dict[str, Any]]:
        return {}


def live_worker(hub: RedisHub) -> Runtime:
    """What the feed reads of a live worker with scale-out on (Redis URL set, presence running)."""
    settings = SimpleNamespace(event_id="demo", redis_url="redis://set")
    pipeline = SimpleNamespace(presence=object(), now=time.time)
    return cast(Runtime, SimpleNamespace(settings=settings, pipeline=pipeline, hub=hub))


async def lateness_of_the_loop(seconds: float) -> float:
    """The longest the loop was late to wake a sleeper, over ``seconds``."""
    worst = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        await asyncio.sleep(BEAT_S)
        worst = max(worst, time.monotonic() - started - BEAT_S)
    return worst


def test_the_feed_publishing_to_a_hung_redis_leaves_the_event_loop_free() -> None:
    with unresponsive_redis() as url:
        hub = RedisHub(url, "demo", "tpt-hung")
        feed = StillVenue(live_worker(hub))
        assert feed.publishes

        async def scenario() -> float:
            feed.ensure_running()  # the first tick publishes the heartbeat at once: two calls, 1 s timeout each
            late = await lateness_of_the_loop(2 * SOCKET_TIMEOUT_S)
            await feed.stop()
            return late

        try:
            late = asyncio.run(scenario())
        finally:
            hub.stop()
    assert hub.publish_failures >= 1  # the feed did reach Redis and wait it out, just not on the loop
    assert late < LOOP_LATE_MAX_S


def test_subscribing_while_redis_hangs_leaves_the_event_loop_free() -> None:
    with unresponsive_redis() as url:
        hub = RedisHub(url, "demo", "tpt-hung")
        hub.start()  # its subscriber thread is stuck on Redis: a new subscription waits SUBSCRIBE_WAIT_S for it

        async def scenario() -> tuple[float, int]:
            subscribing = asyncio.ensure_future(subscribe_in_thread(hub, TOPIC_ALL))
            late = await lateness_of_the_loop(2 * SUBSCRIBE_WAIT_S)
            sub = await subscribing
            hub.deliver_locally(TOPIC_ALL, {"text": "1"})  # delivered on this loop, as for a subscription made here
            got = await asyncio.wait_for(sub.get(), 2)
            hub.unsubscribe(sub)
            return late, len(got)

        try:
            late, got = asyncio.run(scenario())
        finally:
            hub.stop()
    assert got == 1
    assert late < LOOP_LATE_MAX_S


def test_a_subscription_made_in_a_thread_gets_what_another_process_publishes(redis_url: str, topic_prefix: str) -> None:
    live_worker_hub = RedisHub(redis_url, "demo", topic_prefix)
    api_worker_hub = RedisHub(redis_url, "demo", topic_prefix)
    for hub in (live_worker_hub, api_worker_hub):
        hub.start()

    async def scenario() -> dict[str, Any]:
        sub = await subscribe_in_thread(api_worker_hub, TOPIC_ALL)  # returns once Redis confirmed the channel
        await asyncio.to_thread(live_worker_hub.publish, TOPIC_ALL, {"text": "update"})
        return await asyncio.wait_for(sub.get(), 5)

    try:
        assert asyncio.run(scenario()) == {"text": "update"}
    finally:
        live_worker_hub.stop()
        api_worker_hub.stop()


def api_worker(hub: RedisHub) -> Runtime:
    """What the attendee sockets and the registration import read of an API worker with scale-out on."""
    settings, directory = SimpleNamespace(event_id="demo"), SimpleNamespace(invalidate=lambda: None)
    pipeline = LivePipeline(cast(Any, settings), cast(Any, None), cast(Any, None), cast(Any, directory), hub)
    # The real pipeline, without stages (as on an API worker): "venue changed" tells Redis.
    return cast(
        Runtime, SimpleNamespace(settings=settings, engine=None, hub=hub, directory=directory, pipeline=pipeline)
    )


class Phone:
    """The client end of a WebSocket handler under test: says nothing until it hangs up, keeps what it gets."""

    def __init__(self, runtime: Runtime, **query: str) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(runtime=runtime, mobile=SimpleNamespace(heartbeat_s=60.0)))
        self.query_params = query
        self.got: list[dict[str, Any]] = []
        self.hung_up = asyncio.Event()

    async def accept(self) -> None:
        return None

    async def send_text(self, text: str) -> None:
        self.got.append(json.loads(text))

    async def send_json(self, message: dict[str, Any]) -> None:
        self.got.append(message)

    async def receive_text(self) -> str:
        await self.hung_up.wait()
        raise WebSocketDisconnect(1000)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        raise AssertionError(f"the server closed the socket: {code} {reason}")

    async def received(self, kind: str) -> None:
        while kind not in [message.get("type") for message in self.got]:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("socket_of", ["app", "notifications"])
def test_attendee_sockets_subscribing_while_redis_hangs_leave_the_event_loop_free(
    socket_of: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both sockets (the app's and the deprecated /api/v1/notifications/ws alias) look the token up here.
    monkeypatch.setattr(app_ws, "_authenticate", lambda _s, _t: app_ws.Listener(1, "hash", "attendee:alice"))
    with unresponsive_redis() as url:
        hub = RedisHub(url, "demo", "tpt-hung")
        hub.start()  # its subscriber thread is stuck on Redis: a new subscription waits SUBSCRIBE_WAIT_S for it
        phones = [Phone(api_worker(hub), token="t") for _ in range(3)]  # alice's phone, tablet and laptop

        async def scenario() -> float:
            if socket_of == "app":
                serving = [asyncio.ensure_future(app_ws.app_socket(cast(Any, phone))) for phone in phones]
            else:
                serving = [asyncio.ensure_future(notifications.stream(cast(Any, phone))) for phone in phones]
            late = await lateness_of_the_loop(2 * SUBSCRIBE_WAIT_S)
            for phone in phones:
                await asyncio.wait_for(phone.received("hello"), 2)  # sent once subscribed
            hub.deliver_locally("attendee:alice", {"type": "notification", "notification": {"id": "n1"}})
            for phone in phones:
                await asyncio.wait_for(phone.received("notification"), 2)  # delivered on this loop
                phone.hung_up.set()
            await asyncio.wait_for(asyncio.gather(*serving), 5)
            return late

        try:
            late = asyncio.run(scenario())
        finally:
            hub.stop()
    assert [phone.got[-1] for phone in phones] == [{"type": "notification", "notification": {"id": "n1"}}] * 3
    assert Hub.subscribers(hub, "attendee:alice") == 0  # this process's connections: every socket unsubscribed
    assert late < LOOP_LATE_MAX_S


def test_a_registration_import_telling_a_hung_redis_leaves_the_event_loop_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registrations, "import_registrations", lambda *_a, **_k: ImportReport(created=1))
    request = SimpleNamespace(headers={"content-type": "text/csv"})

    async def body() -> bytes:
        return b"id,name\nzora,Zora\n"

    request.body = body
    with unresponsive_redis() as url:
        hub = RedisHub(url, "demo", "tpt-hung")

        async def scenario() -> tuple[float, ImportReport]:
            importing = asyncio.ensure_future(
                registrations.post_registrations(cast(Any, request), api_worker(hub), cast(Any, None))
            )
            late = await lateness_of_the_loop(2 * SOCKET_TIMEOUT_S)
            return late, await asyncio.wait_for(importing, 5)

        try:
            late, report = asyncio.run(scenario())
        finally:
            hub.stop()
    assert report.created == 1
    assert hub.publish_failures >= 1  # "venue changed" did reach Redis and wait it out, just not on the loop
    assert late < LOOP_LATE_MAX_S


def test_a_slow_token_lookup_on_the_notifications_socket_leaves_the_event_loop_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_lookup(_services: Any, _token: str) -> app_ws.Listener:
        time.sleep(0.5)  # a database that takes its time to answer
        return app_ws.Listener(1, "hash", "attendee:alice")

    monkeypatch.setattr(app_ws, "_authenticate", slow_lookup)
    phones = [Phone(api_worker(cast(RedisHub, Hub())), token="t") for _ in range(3)]

    async def scenario() -> float:
        serving = [asyncio.ensure_future(notifications.stream(cast(Any, phone))) for phone in phones]
        late = await lateness_of_the_loop(1.0)
        for phone in phones:
            await asyncio.wait_for(phone.received("hello"), 2)
            phone.hung_up.set()
        await asyncio.wait_for(asyncio.gather(*serving), 5)
        return late

    assert asyncio.run(scenario()) < LOOP_LATE_MAX_S
