"""The Redis hub: what one process publishes reaches WebSockets held by another; Redis away never raises."""

from __future__ import annotations

import asyncio
import socket
import time

from support import wait_until

from server.core.metrics import Metrics
from server.live.redis_hub import RedisHub


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def two_processes(redis_url: str, topic_prefix: str) -> tuple[RedisHub, RedisHub]:
    """Two hubs on one Redis, as two server processes of one event would have."""
    hubs = (RedisHub(redis_url, "demo", topic_prefix), RedisHub(redis_url, "demo", topic_prefix))
    for hub in hubs:
        hub.start()
    return hubs


def test_a_message_published_in_one_process_reaches_the_subscriber_of_another(redis_url: str, topic_prefix: str):
    live_worker, api_worker = two_processes(redis_url, topic_prefix)

    async def scenario() -> tuple[dict[str, object], int, int, int]:
        phone = api_worker.subscribe("attendee:alice")  # returns once Redis confirmed the channel
        other = api_worker.subscribe("attendee:bob")
        handed = await asyncio.to_thread(live_worker.publish, "attendee:alice", {"title": "Welcome"})
        got = await asyncio.wait_for(phone.get(), 5)
        await asyncio.sleep(0.1)
        return got, handed, other.queue.qsize(), phone.queue.qsize()

    try:
        got, handed, others, more = asyncio.run(scenario())
    finally:
        live_worker.stop()
        api_worker.stop()
    assert got == {"title": "Welcome"}
    assert (handed, others, more) == (1, 0, 0)  # one process subscribed; Bob got nothing; Alice got it once


def test_subscribers_counts_the_whole_deployment(redis_url: str, topic_prefix: str):
    live_worker, api_worker = two_processes(redis_url, topic_prefix)
    counts: dict[str, int] = {}

    async def hold_a_connection() -> None:
        sub = api_worker.subscribe("attendee:alice")
        counts["while_connected"] = await asyncio.to_thread(live_worker.subscribers, "attendee:alice")
        counts["on_its_own_process"] = api_worker.subscribers("attendee:alice")
        api_worker.unsubscribe(sub)

    try:
        assert live_worker.subscribers("attendee:alice") == 0
        asyncio.run(hold_a_connection())
        assert wait_until(lambda: live_worker.subscribers("attendee:alice") == 0, timeout=5)
    finally:
        live_worker.stop()
        api_worker.stop()
    assert counts == {"while_connected": 1, "on_its_own_process": 1}


def test_a_process_receives_its_own_publishes_once(redis_url: str, topic_prefix: str):
    (hub,) = (RedisHub(redis_url, "demo", topic_prefix),)
    hub.start()

    async def scenario() -> list[dict[str, object]]:
        sub = hub.subscribe("dashboard:organizer")
        hub.publish("dashboard:organizer", {"text": "1"})
        first = await asyncio.wait_for(sub.get(), 5)
        await asyncio.sleep(0.2)
        return [first] + [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]

    try:
        assert asyncio.run(scenario()) == [{"text": "1"}]
    finally:
        hub.stop()


def test_a_change_broadcast_reaches_every_process(redis_url: str, topic_prefix: str):
    live_worker, api_worker = two_processes(redis_url, topic_prefix)
    heard: list[str] = []
    live_worker.control_listeners.append(heard.append)
    try:
        time.sleep(0.2)  # the subscriber thread joined the control channel
        api_worker.broadcast("rules")
        assert wait_until(lambda: heard == ["rules"], timeout=5), heard
    finally:
        live_worker.stop()
        api_worker.stop()


def test_with_redis_down_publishing_counts_and_delivers_locally_and_never_raises():
    metrics = Metrics()
    hub = RedisHub(f"redis://127.0.0.1:{closed_port()}/0", "demo", "tpt-down", metrics)
    hub.start()

    async def scenario() -> tuple[int, dict[str, object], int]:
        sub = hub.subscribe("attendee:alice")  # does not wait for a Redis that is not there
        handed = await asyncio.to_thread(hub.publish, "attendee:alice", {"n": 1})
        got = await asyncio.wait_for(sub.get(), 2)
        return handed, got, hub.subscribers("attendee:alice")

    try:
        started = time.monotonic()
        handed, got, online = asyncio.run(scenario())
        hub.publish("attendee:nobody", {"n": 2})
        hub.broadcast("venue")
        elapsed = time.monotonic() - started
    finally:
        hub.stop()
    assert (handed, got, online) == (1, {"n": 1}, 1)  # this process's own connection still gets it
    assert hub.publish_failures == 3  # two publishes and the broadcast
    assert metrics.redis_errors.labels("publish")._value.get() == 3
    assert elapsed < 5
