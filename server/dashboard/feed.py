"""The dashboard's live feed: one aggregator per server that coalesces state into a few messages a second.

Presence changes many times a second under load, and device heartbeats arrive from every scanner; pushing
each change to each dashboard would cost O(changes x clients). Instead a single task samples the state on
a tick, diffs it against what it last sent, serializes the diff once and hands the same text to every
connection through the hub. A dashboard therefore receives at most ``1 / TICK_S`` updates a second however
busy the venue is, and an idle venue still sends a heartbeat every ``HEARTBEAT_S`` (the clock moves).

Two audiences, two topics: organizers get everything, staff only the device fleet (and the clock)::

    {"type": "update", "seq": 42, "sent_at": 1781000000.5, "now": 1781000000.5,
     "occupancy": {"room-a": 31}, "counters": {"on_site": 120}, "devices": {"door-1": {...}}}

A section holds only the keys that changed since the previous message (a removed key is ``null``); a new
connection first gets a ``snapshot`` with every key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import orjson
from sqlmodel import Session

from server.dashboard import queries
from server.ingest.writer import WriteResult
from server.runtime import Runtime

log = logging.getLogger(__name__)

TICK_S = 0.5  # at most two updates a second per dashboard: the eye does not read faster
HEARTBEAT_S = 1.0  # an idle feed still ticks the clock once a second (and shows the socket is alive)
DEVICE_POLL_S = 5.0  # the device table is re-read this often, and at once after a status or heartbeat arrives
SLOW_POLL_S = 5.0  # check-ins and running sessions: database counts, fine at this pace

TOPIC_ALL = "dashboard:organizer"
TOPIC_FLEET = "dashboard:fleet"
FLEET_SECTIONS = ("devices",)
SECTIONS = ("occupancy", "counters", "devices")


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``new`` that differ from ``old``, and ``None`` for the keys that went away.

    >>> diff({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {"b": 3, "c": 4}
    True
    >>> diff({"a": 1}, {})
    {'a': None}
    """
    changed = {k: v for k, v in new.items() if old.get(k, ...) != v}
    changed.update({k: None for k in old.keys() - new.keys()})
    return changed


class DashboardFeed:
    """Samples presence, devices and counters; publishes coalesced diffs on the hub's dashboard topics."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.event_id = runtime.settings.event_id
        self.state: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        self.seq = 0
        self.ticks = 0
        self._devices_dirty = threading.Event()  # set by the ingest listener thread
        self._devices_dirty.set()
        self._last_device_poll = 0.0
        self._last_slow_poll = 0.0
        self._slow: dict[str, Any] = {"checked_in": None, "sessions_running": None}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def publishes(self) -> bool:
        """Scale-out (docs/scaling.md): only the live worker samples and publishes, through the Redis hub, to
        every process's dashboards; elsewhere the feed only answers snapshots, from the store. (A property: the
        feed is built before the live pipeline starts its stages.)"""
        return self.runtime.settings.redis_url is None or self.runtime.pipeline.presence is not None

    # --- inputs

    def on_ingest(self, result: WriteResult) -> None:
        """A consumer of the live pipeline's signals (server/pipeline.py): a status or heartbeat was stored, so
        the fleet view is re-read on the next tick."""
        if result.stored.get("status") or result.stored.get("heartbeat"):
            self._devices_dirty.set()

    # --- lifecycle: the task runs while someone watches

    def ensure_running(self) -> None:
        if not self.publishes:
            return
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._task = loop.create_task(self._run(), name="dashboard-feed")

    def watchers(self) -> int:
        hub = self.runtime.hub
        return hub.subscribers(TOPIC_ALL) + hub.subscribers(TOPIC_FLEET)

    async def _run(self) -> None:
        last_sent = 0.0
        idle_since: float | None = None
        while True:
            started = time.monotonic()
            try:
                changes = await asyncio.to_thread(self.sample)
            except Exception:  # a failed read (database restart) skips a tick; the next one tries again
                log.exception("dashboard feed: sampling failed")
                changes = {}
            # Publishing and counting watchers are Redis calls with scale-out (blocking, up to the hub's socket
            # timeout when Redis stops answering): in a worker thread, never on the loop serving the sockets.
            if changes or started - last_sent >= HEARTBEAT_S:
                await asyncio.to_thread(self.publish, changes)
                last_sent = started
            if await asyncio.to_thread(self.watchers) == 0:
                idle_since = idle_since or started
                if started - idle_since > 2 * TICK_S:
                    return  # nobody watches: stop; the next connection starts it again
            else:
                idle_since = None
            await asyncio.sleep(max(0.0, TICK_S - (time.monotonic() - started)))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task

    # --- one tick

    def sample(self) -> dict[str, dict[str, Any]]:
        """Read the current state (in a worker thread), update ``self.state``; return what changed."""
        self.ticks += 1
        now_wall = time.monotonic()
        fresh: dict[str, dict[str, Any]] = {}
        fresh["occupancy"] = self.runtime.pipeline.occupancy()  # the engine's, else the store's open visits
        poll_devices = self._devices_dirty.is_set() or now_wall - self._last_device_poll >= DEVICE_POLL_S
        poll_slow = now_wall - self._last_slow_poll >= SLOW_POLL_S
        if poll_devices or poll_slow:
            with Session(self.runtime.engine) as session:
                if poll_devices:
                    self._devices_dirty.clear()
                    self._last_device_poll = now_wall
                    fresh["devices"] = queries.device_rows(session, self.event_id)
                if poll_slow:
                    self._last_slow_poll = now_wall
                    self._slow = {
                        "checked_in": len(queries.first_check_ins(session, self.event_id)),
                        "sessions_running": queries.sessions_running(
                            session, self.event_id, self.runtime.pipeline.now()
                        ),
                    }
        fresh["counters"] = {"on_site": sum(fresh["occupancy"].values()), **self._slow}
        changes: dict[str, dict[str, Any]] = {}
        for name, values in fresh.items():
            delta = diff(self.state[name], values)
            if delta:
                changes[name] = delta
                self.state[name] = values
        return changes

    def publish(self, changes: dict[str, dict[str, Any]]) -> None:
        """Serialize once per audience; the hub hands the same text to every connection."""
        self.seq += 1
        head = {"type": "update", "seq": self.seq, "now": self.runtime.pipeline.now()}
        fleet = {k: v for k, v in changes.items() if k in FLEET_SECTIONS}
        sent_at = time.time()
        self.runtime.hub.publish(TOPIC_ALL, {"text": self._encode({**head, "sent_at": sent_at, **changes})})
        self.runtime.hub.publish(TOPIC_FLEET, {"text": self._encode({**head, "sent_at": sent_at, **fleet})})

    def snapshot(self, role: str, fleet_only: bool) -> str:
        sections = FLEET_SECTIONS if fleet_only else SECTIONS
        message: dict[str, Any] = {"type": "snapshot", "role": role, "seq": self.seq, "sent_at": time.time()}
        message["now"] = self.runtime.pipeline.now()
        message.update({name: self.state[name] for name in sections})
        return self._encode(message)

    @staticmethod
    def _encode(message: dict[str, Any]) -> str:
        return orjson.dumps(message).decode()
