"""With scale-out, the dashboard's Redis calls run in worker threads: a Redis that stops answering makes the
feed late, never the event loop that serves every WebSocket of the process."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, cast

from server.dashboard.feed import TOPIC_ALL, DashboardFeed
from server.live.hub import subscribe_in_thread
from server.live.redis_hub import SOCKET_TIMEOUT_S, SUBSCRIBE_WAIT_S, RedisHub
from server.services import Services

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


def live_worker(hub: RedisHub) -> Services:
    """What the feed reads of a live worker with scale-out on (Redis URL set, presence running)."""
    settings = SimpleNamespace(event_id="demo", redis_url="redis://set")
    return cast(Services, SimpleNamespace(settings=settings, presence=object(), live_listeners=[], hub=hub,
                                          now=time.time))  # fmt: skip


async def lateness_of_the_loop(seconds: float) -> float:
    """The longest the loop was late to wake a sleeper, over ``seconds``."""
    worst = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        await asyncio.sleep(BEAT_S)
        worst = max(worst, time.monotonic() - started - BEAT_S)
    return worst


def test_the_feed_publishing_to_a_hung_redis_leaves_the_event_loop_free():
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


def test_subscribing_while_redis_hangs_leaves_the_event_loop_free():
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


def test_a_subscription_made_in_a_thread_gets_what_another_process_publishes(redis_url: str, topic_prefix: str):
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
