"""Live fan-out of messages to WebSocket connections in this process, keyed by a topic.

Worker threads (rules, presence) ``publish``; each WebSocket handler ``subscribe``s and drains its own
bounded asyncio queue. A client too slow to keep up is cut off (``overflowed``) rather than allowed to grow
memory without bound: it reconnects and catches up from the stored inbox.

Topics are plain strings: ``attendee:<id>`` for an attendee's devices, ``dashboard`` for organizers.

    >>> hub = Hub()
    >>> hub.subscribers("attendee:alice")
    0
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

# A phone offline for a minute at two notifications a minute has a handful waiting; 100 means it is stuck.
QUEUE_MAX = 100


@dataclass(eq=False)
class Subscription:
    topic: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))
    overflowed: bool = False

    def _offer(self, message: dict[str, Any]) -> None:  # runs on the subscriber's loop
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, set[Subscription]] = {}

    def subscribe(self, topic: str, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        """Call from the WebSocket handler's event loop, or from a worker thread with that ``loop`` (a hub across
        processes may wait for its broker here: ``await asyncio.to_thread(hub.subscribe, topic, loop)``)."""
        sub = Subscription(topic, loop or asyncio.get_running_loop())
        with self._lock:
            self._topics.setdefault(topic, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._topics.get(sub.topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._topics[sub.topic]

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        """Thread-safe; returns how many live connections the message was handed to."""
        with self._lock:
            subs = list(self._topics.get(topic, ()))
        delivered = 0
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._offer, message)
                delivered += 1
            except RuntimeError:  # that connection's loop has closed: it is going away
                self.unsubscribe(sub)
        return delivered

    def subscribers(self, topic: str) -> int:
        with self._lock:
            return len(self._topics.get(topic, ()))


async def subscribe_in_thread(hub: Hub, topic: str) -> Subscription:
    """``hub.subscribe(topic)`` for the running loop, made in a worker thread: a hub across processes may wait
    for its broker there, which must not stall the loop's other connections. Cancelled while waiting, it
    still unsubscribes what the thread goes on to make, so no subscription is left behind."""
    loop = asyncio.get_running_loop()
    job = asyncio.ensure_future(asyncio.to_thread(hub.subscribe, topic, loop))
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        job.add_done_callback(lambda done: _unsubscribe_made(hub, done))
        raise


def _unsubscribe_made(hub: Hub, job: asyncio.Future[Subscription]) -> None:
    if not job.cancelled() and job.exception() is None:
        hub.unsubscribe(job.result())
