"""The live stream: every ingest worker's committed signals, gathered in one place for the one live worker.

With several ingest workers splitting the MQTT stream (``$share/<group>/...``), an attendee's sightings from
different scanners land on different workers; presence, scores and rules must still see all of them, in
capture order, in one process. So, with ``TOUCHPOINTS_REDIS_URL`` set:

- a worker that is not the live worker (``TOUCHPOINTS_LIVE_ENABLED=false``) forwards, after each commit,
  what the live pipeline reads from the :class:`WriteResult` (new presence sightings and taps, and the kinds
  of messages stored, which the dashboard's device view follows) to a Redis Stream
  (``<prefix>:<event>:live``, XADD with an approximate MAXLEN, orjson) — :class:`LiveForwarder`;
- the live worker reads that stream, puts its own commits beside it, merges them by capture time
  (:class:`ReorderBuffer`) and hands the merged results to the same listeners as the in-process path —
  :class:`LiveStreamConsumer`.

Ordering: one reader per event, and a watermark. Each producer (ingest worker) sends its signals roughly in
capture order; the buffer holds an entry until every producer active in the last ``PRODUCER_IDLE_S`` has
sent something at least as new (the low watermark), or for ``MAX_HOLD_S`` at most, then releases entries
together. Presence sorts each step's signals by capture time and advances in data-time steps, so signals
of one attendee from two workers reach it in capture order whenever they arrive within the hold.

Restarts: the stream is read from the id it had *before* presence's warm start (which replays recent stored
signals from the database), so nothing committed meanwhile is missed; what is seen twice is harmless
(visits are upserted by their natural key, rule decisions by their id).
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import logging
import os
import queue
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from server.domain import model as domain
from server.ingest.writer import WriteResult

log = logging.getLogger(__name__)

# The stream keeps about this many entries (XADD MAXLEN ~): at a commit every ~50 ms per worker that is well
# over an hour of a large venue, far more than a live worker's restart needs (it warm-starts from the store).
STREAM_MAXLEN = 100_000
# Entries not yet forwarded (Redis away) are kept up to this many, oldest dropped first (and counted):
# the database has them all; only the live view misses what is dropped.
FORWARD_BACKLOG_MAX = 20_000
FORWARD_BATCH = 200  # entries per XADD pipeline
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0
READ_BLOCK_MS = 100  # XREAD waits this long for news; also how often held entries are looked at
READ_COUNT = 1000
# A producer that sent no signal for this long no longer holds the watermark back (idle, or gone). Every
# worker of a busy venue commits several times a second; a slow commit (a lock wait) is not idleness.
PRODUCER_IDLE_S = 3.0
# No entry waits longer than this (wall time) for the other producers: the live view's latency bound when a
# worker lags. Beyond it, the lagging worker's signals reach presence late, and a reading older than what
# presence already judged is ignored (server/domain/presence.py), so waiting is better than hurrying.
MAX_HOLD_S = 5.0
LOCAL = "local"  # the live worker's own commits
# Producers named so send rarely and out of order (API workers forwarding phone beacon reports): their
# signals are merged in, but they do not hold the watermark back.
UNORDERED = "~"
# The live worker holds a lease in Redis, so that a second one (a configuration mistake) is reported loudly.
LEASE_TTL_S = 15.0
LEASE_RENEW_S = 5.0


def stream_name(prefix: str, event_id: str) -> str:
    return f"{prefix}:{event_id}:live"


# --- the wire format: compact JSON arrays, one entry per commit


def encode_entry(producer: str, result: WriteResult) -> bytes:
    """What the live listeners read from ``result``, as one compact entry.

    >>> r = WriteResult(presence_taps=[domain.Tap("alice", "door-1", 10.0)])
    >>> decode_entry(encode_entry("w1", r))[1].presence_taps
    [Tap(attendee_id='alice', device_id='door-1', at=10.0)]
    """
    sightings = [
        [s.attendee_id, s.device_id, s.rssi, s.first_seen, s.last_seen, s.count, s.distance_m]
        for s in result.presence_sightings
    ]
    taps = [[t.attendee_id, t.device_id, t.at] for t in result.presence_taps]
    return orjson.dumps({"p": producer, "s": sightings, "t": taps, "k": dict(result.stored)})


def decode_entry(data: bytes) -> tuple[str, WriteResult]:
    raw = orjson.loads(data)
    result = WriteResult(
        stored=Counter({str(k): int(v) for k, v in raw.get("k", {}).items()}),
        presence_sightings=[domain.Sighting(a, d, r, f, la, c, m) for a, d, r, f, la, c, m in raw.get("s", [])],
        presence_taps=[domain.Tap(a, d, at) for a, d, at in raw.get("t", [])],
    )
    return str(raw.get("p", "?")), result


def is_live_relevant(result: WriteResult) -> bool:
    return bool(result.presence_sightings or result.presence_taps or result.stored)


def newest_capture(result: WriteResult) -> float | None:
    times = [s.last_seen for s in result.presence_sightings] + [t.at for t in result.presence_taps]
    return max(times) if times else None


# --- ordering: the pure part


@dataclass
class ReorderBuffer:
    """Holds signals until every active producer has passed their capture time (or ``max_hold_s``).

    The watermark is the oldest of the active producers' newest capture times: no producer is expected to
    send anything older, so everything up to it can go, in capture order. A producer that lags holds the
    others back, for ``max_hold_s`` at most: then the watermark is forced past what waited that long.

    >>> buf = ReorderBuffer(producer_idle_s=1.0, max_hold_s=1.0)
    >>> buf.add("A", WriteResult(presence_taps=[domain.Tap("x", "d1", 100.0), domain.Tap("x", "d1", 105.0)]), 0.0)
    >>> buf.add("B", WriteResult(presence_taps=[domain.Tap("y", "d2", 103.0)]), 0.0)
    >>> [t.at for t in buf.release(now=0.0).presence_taps]  # up to B's newest; A's 105 waits for B
    [100.0, 103.0]
    >>> [t.at for t in buf.release(now=1.0).presence_taps]  # ... at most max_hold_s
    [105.0]
    """

    producer_idle_s: float = PRODUCER_IDLE_S
    max_hold_s: float = MAX_HOLD_S
    _heap: list[tuple[float, int, domain.Sighting | domain.Tap]] = field(default_factory=list)
    _arrivals: collections.deque[tuple[float, float]] = field(default_factory=collections.deque)  # arrived, newest
    _producers: dict[str, tuple[float, float]] = field(default_factory=dict)  # newest capture, last arrival
    _other: Counter[str] = field(default_factory=Counter)  # stored kinds (the dashboard's device view)
    _count: int = 0

    def add(self, producer: str, result: WriteResult, arrived: float) -> None:
        self._other.update(result.stored)
        newest = newest_capture(result)
        if newest is None:
            return
        if not producer.startswith(UNORDERED):
            previous = self._producers.get(producer, (float("-inf"), arrived))[0]
            self._producers[producer] = (max(previous, newest), arrived)
        self._arrivals.append((arrived, newest))
        signals: list[domain.Sighting | domain.Tap] = [*result.presence_sightings, *result.presence_taps]
        for signal in signals:
            at = signal.last_seen if isinstance(signal, domain.Sighting) else signal.at
            self._count += 1
            item: tuple[float, int, domain.Sighting | domain.Tap] = (at, self._count, signal)
            heapq.heappush(self._heap, item)

    def watermark(self, now: float) -> float:
        active = [newest for newest, last in self._producers.values() if now - last < self.producer_idle_s]
        mark = min(active) if active else float("inf")
        while self._arrivals and now - self._arrivals[0][0] >= self.max_hold_s:
            mark = max(mark, self._arrivals.popleft()[1])  # waited long enough: forced through
        return mark

    def release(self, now: float) -> WriteResult | None:
        """What may go to the live listeners now, in capture order; None if nothing."""
        mark = self.watermark(now)
        merged = WriteResult(stored=self._other)
        self._other = Counter()
        heap = self._heap
        while heap and heap[0][0] <= mark:
            signal = heapq.heappop(heap)[2]
            if isinstance(signal, domain.Sighting):
                merged.presence_sightings.append(signal)
            else:
                merged.presence_taps.append(signal)
        if not heap:
            self._arrivals.clear()
        for name in [p for p, (_, last) in self._producers.items() if now - last > 60 * self.producer_idle_s]:
            del self._producers[name]  # a worker gone for good is forgotten
        return merged if is_live_relevant(merged) else None

    @property
    def held(self) -> int:
        return len(self._heap)


# --- the adapters


class LiveForwarder:
    """An ingest commit listener on a worker that is not the live worker: queue, and XADD from a thread.

    The ingest writer thread only appends to a bounded deque; Redis latency or an outage never slows
    ingest. While Redis is away the thread retries with a growing pause; beyond ``FORWARD_BACKLOG_MAX``
    the oldest entries are dropped and counted (``touchpoints_live_stream_entries{outcome="dropped"}``).
    """

    def __init__(self, client: redis.Redis, stream: str, producer: str, metrics: Any = None) -> None:
        self._redis = client
        self._stream = stream
        self._producer = producer
        self._metrics = metrics
        self._backlog: collections.deque[bytes] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.forwarded = 0
        self.dropped = 0

    def __call__(self, result: WriteResult) -> None:
        if not is_live_relevant(result):
            return
        entry = encode_entry(self._producer, result)
        with self._cond:
            if len(self._backlog) >= FORWARD_BACKLOG_MAX:
                self._backlog.popleft()
                self.dropped += 1
                self._count("dropped")
            self._backlog.append(entry)
            self._cond.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="live-forwarder", daemon=True)
        self._thread.start()

    def stop(self, drain_timeout: float = 5.0) -> None:
        deadline = time.monotonic() + drain_timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._backlog)

    def _run(self) -> None:
        pause = RETRY_MIN_S
        while not self._stop.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._backlog or self._stop.is_set(), timeout=1.0)
                batch = [self._backlog[i] for i in range(min(FORWARD_BATCH, len(self._backlog)))]
            if not batch:
                continue
            try:
                pipe = self._redis.pipeline(transaction=False)
                for entry in batch:
                    pipe.xadd(self._stream, {"d": entry}, maxlen=STREAM_MAXLEN, approximate=True)
                pipe.execute()
            except (redis.RedisError, OSError) as exc:
                if self._metrics is not None:
                    self._metrics.redis_errors.labels("xadd").inc()
                log.warning("live stream: XADD failed (%s); %d entries wait, retrying in %.1fs",
                            exc, self.pending, pause)  # fmt: skip
                self._stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                continue
            pause = RETRY_MIN_S
            with self._cond:
                for _ in range(min(len(batch), len(self._backlog))):
                    self._backlog.popleft()  # only this thread removes from the left, except when full
            self.forwarded += len(batch)
            self._count("forwarded", len(batch))

    def _count(self, outcome: str, n: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.live_stream.labels(outcome).inc(n)


class LiveStreamConsumer:
    """The live worker's reader: the stream and its own commits, merged by capture time, to ``dispatch``."""

    def __init__(self, client: redis.Redis, stream: str, dispatch: Callable[[WriteResult], None],
                 metrics: Any = None) -> None:  # fmt: skip
        self._redis = client
        self._stream = stream
        self._dispatch = dispatch
        self._metrics = metrics
        self._local: queue.Queue[WriteResult] = queue.Queue()
        self._buffer = ReorderBuffer()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_id = "$"
        self.consumed = 0
        self.dispatched_at = 0.0  # monotonic time of the last hand-over (tests wait for quiet)
        self.identity = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self.rival: str | None = None  # another live worker holding the lease, when there is one
        self._lease_key = stream.removesuffix(":live") + ":live-worker"
        self._lease_due = 0.0

    def tail(self) -> str:
        """The stream's newest id now ("0-0" when empty); read from it after presence's warm start."""
        try:
            newest = self._redis.xrevrange(self._stream, count=1)
        except (redis.RedisError, OSError) as exc:
            log.warning("live stream: cannot read its tail (%s); starting from new entries", exc)
            return "$"
        return _id_text(newest[0][0]) if newest else "0-0"

    def submit_local(self, result: WriteResult) -> None:
        """The live worker's own ingest commits (and phone beacon reports): into the same merge."""
        if is_live_relevant(result):
            self._local.put(result)

    def start(self, from_id: str) -> None:
        self.last_id = from_id
        self._thread = threading.Thread(target=self._run, name="live-stream-consumer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(redis.RedisError, OSError):
            if _id_text(self._redis.get(self._lease_key) or b"") == self.identity:
                self._redis.delete(self._lease_key)

    @property
    def held(self) -> int:
        return self._buffer.held + self._local.qsize()

    def check_lease(self) -> None:
        """Take or renew the live worker's lease; name the rival if another process holds it (not enforced:
        both go on, see docs/scaling.md, but the operator is told every ``LEASE_TTL_S``)."""
        if self._redis.set(self._lease_key, self.identity, nx=True, ex=int(LEASE_TTL_S)):
            self.rival = None
            return
        holder = _id_text(self._redis.get(self._lease_key) or b"")
        if holder == self.identity:
            self._redis.expire(self._lease_key, int(LEASE_TTL_S))
            self.rival = None
            return
        if holder and holder != self.rival:
            log.error("live stream: another live worker (%s) runs for this event, or crashed less than %.0f s ago; "
                      "exactly one process may set TOUCHPOINTS_LIVE_ENABLED=true (docs/scaling.md)",
                      holder, LEASE_TTL_S)  # fmt: skip
        self.rival = holder or None

    def _run(self) -> None:
        pause = RETRY_MIN_S
        while not self._stop.is_set():
            try:
                self._read()
                pause = RETRY_MIN_S
            except (redis.RedisError, OSError) as exc:
                if self._metrics is not None:
                    self._metrics.redis_errors.labels("xread").inc()
                log.warning("live stream: XREAD failed (%s); retrying in %.1fs", exc, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, RETRY_MAX_S)
            finally:
                self._drain_local()
                self._release()

    def _read(self) -> None:
        if time.monotonic() >= self._lease_due:
            self._lease_due = time.monotonic() + LEASE_RENEW_S
            self.check_lease()
        if self.last_id == "$":
            # Redis was away at start: read on from its tail as it is now, and never with "$" again ("$" on
            # every call would skip what is added between two calls).
            newest: Any = self._redis.xrevrange(self._stream, count=1)
            self.last_id = _id_text(newest[0][0]) if newest else "0-0"
        block = 10 if self._buffer.held or not self._local.empty() else READ_BLOCK_MS
        answer: Any = self._redis.xread({self._stream: self.last_id}, count=READ_COUNT, block=block)
        now = time.monotonic()
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                self.last_id = _id_text(entry_id)
                data = fields.get(b"d") or fields.get("d")
                try:
                    producer, result = decode_entry(data)
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    log.warning("live stream: undecodable entry %s skipped", self.last_id)
                    continue
                self._buffer.add(producer, result, now)
                self.consumed += 1
        if answer and self._metrics is not None:
            self._metrics.live_stream.labels("consumed").inc(sum(len(e) for _, e in answer))

    def _drain_local(self) -> None:
        now = time.monotonic()
        while True:
            try:
                self._buffer.add(LOCAL, self._local.get_nowait(), now)
            except queue.Empty:
                return

    def _release(self) -> None:
        merged = self._buffer.release(time.monotonic())
        if merged is not None:
            try:
                self._dispatch(merged)
            except Exception:  # a listener's bug must not stop the live pipeline
                log.exception("live stream: dispatch failed")
            self.dispatched_at = time.monotonic()


def _id_text(entry_id: Any) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
