"""The hub hands each topic's messages to every subscriber of it, and cuts off one that cannot keep up."""

from __future__ import annotations

import asyncio
import threading

from server.live.hub import QUEUE_MAX, Hub


def test_a_message_reaches_every_subscriber_of_its_topic_only():
    async def scenario() -> tuple[list[dict[str, int]], int, int]:
        hub = Hub()
        phone, laptop, other = hub.subscribe("attendee:alice"), hub.subscribe("attendee:alice"), hub.subscribe("x")
        worker = threading.Thread(target=lambda: hub.publish("attendee:alice", {"n": 1}))
        worker.start()
        worker.join()
        got = [await asyncio.wait_for(phone.get(), 1), await asyncio.wait_for(laptop.get(), 1)]
        hub.unsubscribe(phone)
        return got, other.queue.qsize(), hub.subscribers("attendee:alice")

    got, others, left = asyncio.run(scenario())
    assert got == [{"n": 1}, {"n": 1}]
    assert (others, left) == (0, 1)


def test_a_subscriber_that_falls_too_far_behind_is_marked_overflowed():
    async def scenario() -> tuple[bool, int]:
        hub = Hub()
        slow = hub.subscribe("dashboard")
        for i in range(QUEUE_MAX + 5):
            hub.publish("dashboard", {"i": i})
        await asyncio.sleep(0.05)
        return slow.overflowed, slow.queue.qsize()

    assert asyncio.run(scenario()) == (True, QUEUE_MAX)


def test_publishing_to_nobody_reaches_nobody():
    assert Hub().publish("attendee:ghost", {}) == 0
