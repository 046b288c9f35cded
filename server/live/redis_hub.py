"""The hub across processes: the same API as :class:`~server.live.hub.Hub`, fanned out through Redis pub/sub.

With several server processes behind a proxy, the process that decides to push (the live worker's rules,
its dashboard feed) is rarely the one holding the WebSocket. So ``publish`` goes to Redis, on one channel
per hub topic (``<prefix>:<event>:hub:<topic>``, e.g. ``touchpoints:demo:hub:attendee:alice``), and every
process runs one subscriber thread that is subscribed to a channel exactly while it has local
subscriptions to that topic, and hands what arrives to them. A process never delivers its own publishes
directly: they come back through Redis like everyone else's, so each connection gets a message once.

``subscribers(topic)`` answers for the whole deployment (the rules ask "is the attendee online?"): the local
connections plus the *other* processes subscribed to the channel (PUBSUB NUMSUB counts processes, not
connections, which is all ``> 0`` needs).

Redis away: ``publish`` never raises. It counts the failure, logs (at most every ``WARN_EVERY_S``) and
delivers to this process's own connections, so a single-node outage degrades to "local only"; the
subscriber thread reconnects with a growing pause and re-subscribes what is wanted.

    >>> channel_name("touchpoints", "demo", "attendee:alice")
    'touchpoints:demo:hub:attendee:alice'
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from server.live.hub import Hub, Subscription

log = logging.getLogger(__name__)

# Socket timeouts of the publishing connection: a worker thread must not hang on a Redis that stopped
# answering; a publish to a healthy Redis on the same network takes well under a millisecond.
SOCKET_TIMEOUT_S = 1.0
# How long the subscriber thread waits for a message before it looks at what it should (un)subscribe:
# a new WebSocket's first subscription reaches Redis within this, at most.
POLL_S = 0.05
# A subscribe waits this long, at most, for Redis to confirm the channel (only the first local subscriber
# of a topic waits, and only while Redis is up), so that what is published right after is not missed.
SUBSCRIBE_WAIT_S = 0.25
RECONNECT_MIN_S, RECONNECT_MAX_S = 0.2, 5.0
# Every process listens here for "the venue / the rules changed" (an edit on one API worker must reach the
# live worker's presence and rules, and every ingest worker's directory).
CONTROL_TOPIC = "_control"
WARN_EVERY_S = 10.0  # a Redis outage logs once per this long, not once per publish


def channel_name(prefix: str, event_id: str, topic: str) -> str:
    return f"{prefix}:{event_id}:hub:{topic}"


class RedisHub(Hub):
    def __init__(self, redis_url: str, event_id: str, prefix: str = "touchpoints", metrics: Any = None) -> None:
        super().__init__()
        self._base = f"{prefix}:{event_id}:hub:"
        self._redis = redis.Redis.from_url(
            redis_url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
        )
        self._sub_redis = redis.Redis.from_url(redis_url, socket_connect_timeout=SOCKET_TIMEOUT_S)
        self._metrics = metrics
        self._subscribed: set[str] = set()  # channels Redis confirmed for this process (the thread's view)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_warning = float("-inf")
        self.publish_failures = 0
        self.control_listeners: list[Callable[[str], None]] = []

    # --- lifecycle

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-redis-subscriber", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._redis.close()

    # --- the Hub API

    def subscribe(self, topic: str, loop: asyncio.AbstractEventLoop | None = None) -> Subscription:
        """Waits (at most ``SUBSCRIBE_WAIT_S``) for Redis to confirm the channel. Every call here that talks to
        Redis blocks: from async code use :func:`~server.live.hub.subscribe_in_thread` (and ``to_thread`` for
        ``publish`` and ``subscribers``)."""
        sub = super().subscribe(topic, loop)
        channel = self._base + topic
        if self._thread is not None and self._thread.is_alive():
            with self._changed:
                self._changed.wait_for(lambda: channel in self._subscribed or self._stop.is_set(), SUBSCRIBE_WAIT_S)
        return sub

    def publish(self, topic: str, message: dict[str, Any]) -> int:
        """Thread-safe, never raises; returns how many processes Redis handed the message to."""
        try:
            return int(self._redis.publish(self._base + topic, orjson.dumps(message)))
        except (redis.RedisError, OSError, TypeError) as exc:
            self._failed("publish", exc)
            return self.deliver_locally(topic, message)

    def subscribers(self, topic: str) -> int:
        local = super().subscribers(topic)
        channel = self._base + topic
        try:
            ((_, processes),) = self._redis.pubsub_numsub(channel)
        except (redis.RedisError, OSError, ValueError) as exc:
            self._failed("numsub", exc)
            return local
        others = int(processes) - (1 if channel in self._subscribed else 0)
        return local + max(0, others)

    def deliver_locally(self, topic: str, message: dict[str, Any]) -> int:
        return super().publish(topic, message)

    def broadcast(self, change: str) -> None:
        """Tell every process (this one included) that ``change`` ("venue", "rules") happened; never raises."""
        try:
            self._redis.publish(self._base + CONTROL_TOPIC, change.encode())
        except (redis.RedisError, OSError) as exc:
            self._failed("publish", exc)

    def healthy(self) -> bool:
        try:
            return bool(self._redis.ping())
        except (redis.RedisError, OSError):
            return False

    # --- the subscriber thread

    def _wanted(self) -> set[str]:
        with self._lock:
            return {self._base + topic for topic in self._topics}

    def _run(self) -> None:
        pause = RECONNECT_MIN_S
        while not self._stop.is_set():
            pubsub = self._sub_redis.pubsub(ignore_subscribe_messages=False)
            try:
                self._listen(pubsub)
                pause = RECONNECT_MIN_S
            except (redis.RedisError, OSError) as exc:
                self._failed("subscriber", exc)
                with self._changed:
                    self._subscribed.clear()
                    self._changed.notify_all()
                self._stop.wait(pause)
                pause = min(pause * 2, RECONNECT_MAX_S)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()

    def _listen(self, pubsub: redis.client.PubSub) -> None:
        pubsub.subscribe(self._base + CONTROL_TOPIC)  # always: also gives get_message a connection to wait on
        current: set[str] = set()
        while not self._stop.is_set():
            wanted = self._wanted()
            if wanted - current:
                pubsub.subscribe(*(wanted - current))
            if current - wanted:
                pubsub.unsubscribe(*(current - wanted))  # type: ignore[no-untyped-call]  # redis stubs leave it untyped
                with self._changed:
                    self._subscribed -= current - wanted
            current = wanted
            message = pubsub.get_message(timeout=POLL_S)
            while message is not None:
                self._handle(message)
                message = pubsub.get_message(timeout=0)

    def _handle(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        if message["type"] == "subscribe":
            with self._changed:
                self._subscribed.add(channel)
                self._changed.notify_all()
        elif message["type"] == "message" and channel == self._base + CONTROL_TOPIC:
            change = message["data"].decode(errors="replace") if isinstance(message["data"], bytes) else ""
            for listener in self.control_listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("hub: control listener failed")
        elif message["type"] == "message" and channel.startswith(self._base):
            try:
                payload = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                log.warning("hub: undecodable message on %s", channel)
                return
            self.deliver_locally(channel[len(self._base) :], payload)

    def _failed(self, what: str, exc: BaseException) -> None:
        self.publish_failures += what == "publish"
        if self._metrics is not None:
            self._metrics.redis_errors.labels(what).inc()
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_S:
            self._last_warning = now
            log.warning("hub: Redis %s failed (%s); local connections only until it is back", what, exc)
