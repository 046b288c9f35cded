"""The MQTT ingest consumer: receive, validate, store in batches, and only then acknowledge.

Why it is shaped so:
- QoS 1 on a persistent session (``clean_session=False``, fixed client id): while we are down, the broker
  keeps what arrives for us; what it delivered and we did not acknowledge, it delivers again.
- ``manual_ack=True`` (paho-mqtt 2): a PUBACK goes out only after the message's transaction committed. A
  crash between receive and commit therefore loses nothing; a crash between commit and PUBACK causes a
  redelivery, which the writer's idempotency key turns into a no-op.
- Batches: the network thread only queues; one writer thread drains whatever is queued (up to
  ``batch_max``) into one transaction, so the commit rate, not the message rate, bounds throughput.
- Nothing a sender does can stop the writer: decoding never raises, and a batch the database refuses is
  split until the offending message is found and dead-lettered as ``unstorable``.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from edge.mqtt_url import parse_mqtt_url
from edge.protocol import QOS, MessageKind, capture_time, parse_topic, subscription_filter
from server.core.metrics import Metrics
from server.core.outage import OutageLog
from server.ingest.budget import DeadLetterBudget
from server.ingest.decode import Accepted, Rejected, Rules, decode
from server.ingest.directory import Directory
from server.ingest.ratelimit import DeviceRateLimiter, Verdict
from server.ingest.writer import WriteResult, write_batch
from server.store.models import DeadLetterReason

log = logging.getLogger(__name__)

# Waiting for the first message of a batch; also how quickly stop() is noticed.
POLL_INTERVAL_S = 0.1
# Database down: retry the same batch with growing pauses, never dropping it.
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0
# paho reconnects by itself within these bounds after the broker goes away.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
KEEPALIVE_S = 30
# The broker keeps our session (and what arrives for it) this long while ingest is down: a week covers any
# maintenance window of a show; the broker's own queue limits still apply (docs/deployment.md).
SESSION_EXPIRY_S = 7 * 86_400
# MQTT allows up to 65,535 unacknowledged messages in flight. We ask for as many as our queue holds: the
# broker then never has to queue for us (Mosquitto drops beyond max_queued_messages, 1,000 by default), and
# a full queue pushes back through TCP.
RECEIVE_MAXIMUM_CAP = 65_535
KNOWN_KINDS = frozenset(k.value for k in MessageKind)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    mqtt_url: str
    client_id: str
    prefix: str
    event_id: str
    max_payload_bytes: int
    batch_max: int = 500
    queue_max: int = 20_000
    queue_max_bytes: int = 64 * 1024 * 1024
    shared_group: str | None = None
    protocol: str = "5"  # "5" or "3.1.1"
    device_rate_per_s: float = 0.0  # 0 = no per-device limit (server/ingest/ratelimit.py)
    device_burst: int = 3000


@dataclass(frozen=True, slots=True)
class Incoming:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes
    received_mono: float
    retained: bool
    received_at: float  # wall clock (Unix s): compared with device capture times by the rate limit


CommitListener = Callable[[WriteResult], None]


class IngestConsumer:
    def __init__(self, config: IngestConfig, engine: Engine, directory: Directory, metrics: Metrics) -> None:
        self.config = config
        # Called on the writer thread after each commit, before the PUBACKs: keep them quick (hand off to a queue).
        self.listeners: list[CommitListener] = []
        self._engine = engine
        self._directory = directory
        self._metrics = metrics
        self._rules = Rules(config.prefix, config.event_id, config.max_payload_bytes)
        self._limiter = DeviceRateLimiter(config.device_rate_per_s, config.device_burst)
        self._budget = DeadLetterBudget(self._accountable)
        self._outage = OutageLog(log, "ingest")
        self._queue: queue.Queue[Incoming] = queue.Queue(maxsize=config.queue_max)
        # Payload bytes received and not yet processed: the queue is bounded in bytes too, or 20,000 queued
        # messages of the largest allowed size would be gigabytes of memory.
        self._room = threading.Condition()
        self._queued_bytes = 0
        self._stop = threading.Event()
        self._generation = 0  # bumped on every (re)connect; acks for an older connection are not sent
        self._connected = threading.Event()
        self._stopping = False
        self._writer: threading.Thread | None = None
        self.last_commit_at: float | None = None
        self.last_error: str | None = None
        self._client = self._make_client()

    # --- lifecycle

    def _make_client(self) -> mqtt.Client:
        endpoint = parse_mqtt_url(self.config.mqtt_url)
        if self.config.protocol == "5":
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=self.config.client_id, protocol=mqtt.MQTTv5,
                manual_ack=True,
            )  # fmt: skip
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=self.config.client_id, protocol=mqtt.MQTTv311,
                clean_session=False, manual_ack=True,
            )  # fmt: skip
        if endpoint.username:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set_context(ssl.create_default_context())
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        endpoint = parse_mqtt_url(self.config.mqtt_url)
        self._writer = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._writer.start()
        if self.config.protocol == "5":
            # MQTT 5: the session outlives the connection only with an expiry, and Receive Maximum lets the
            # broker hand us up to a batch of unacknowledged messages (MQTT 3.1.1 leaves that to broker
            # config: Mosquitto's default of 20 would cap every transaction at 20 messages).
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY_S
            properties.ReceiveMaximum = min(RECEIVE_MAXIMUM_CAP, max(self.config.queue_max, 20))
            self._client.connect_async(endpoint.host, endpoint.port, keepalive=KEEPALIVE_S, clean_start=False,
                                       properties=properties)  # fmt: skip
        else:
            self._client.connect_async(endpoint.host, endpoint.port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Commit and acknowledge what was received, then disconnect. What stays unacknowledged is redelivered."""
        deadline = time.monotonic() + drain_timeout
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._stop.set()
        if self._writer is not None:
            self._writer.join(timeout=drain_timeout + 5)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish on the ingest connection (server -> device config); paho queues it while disconnected."""
        self._client.publish(topic, payload, qos=QOS, retain=retain)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # --- paho callbacks (network thread: keep them short)

    def _on_connect(self, client: mqtt.Client, _ud: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused by %s: %s", self.config.mqtt_url, reason)
            return
        self._generation += 1
        topic = subscription_filter(self.config.prefix)
        if self.config.shared_group:
            topic = f"$share/{self.config.shared_group}/{topic}"
        if self.config.protocol == "5":
            client.subscribe(topic, options=SubscribeOptions(qos=QOS))
        else:
            client.subscribe(topic, qos=QOS)
        log.info(
            "ingest connected to %s, subscribing to %s (session present: %s)",
            self.config.mqtt_url,
            topic,
            flags.session_present,
        )

    def _on_subscribe(self, _client: mqtt.Client, _ud: Any, _mid: int, reasons: Any, _props: Any) -> None:
        # Ready only once the broker confirmed the subscription: on a fresh session, anything published
        # before that would never reach us.
        if any(r.is_failure for r in reasons):
            log.error("broker refused the ingest subscription: %s", reasons)
            return
        self._connected.set()
        self._metrics.mqtt_connected.set(1)

    def _on_disconnect(self, _client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._connected.clear()
        self._metrics.mqtt_connected.set(0)
        if not self._stopping:
            log.warning("ingest disconnected from %s (%s); reconnecting", self.config.mqtt_url, reason)

    def _on_message(self, _client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        # A full queue blocks here, which stops reading the socket: back-pressure to the broker, not loss.
        payload = bytes(msg.payload)
        with self._room:
            # An empty queue always admits, so that one message larger than the budget still gets through;
            # an empty payload (a cleared retained status) costs nothing.
            while payload and self._queued_bytes and self._queued_bytes + len(payload) > self.config.queue_max_bytes:
                if self._stopping:
                    break
                self._room.wait(POLL_INTERVAL_S)
            self._queued_bytes += len(payload)
        self._queue.put(
            Incoming(
                self._generation, msg.mid, msg.qos, msg.topic, payload, time.monotonic(), bool(msg.retain), time.time()
            )
        )

    def _accountable(self, device_id: str) -> bool:
        device = self._directory.device(device_id)
        return device is not None and not device.revoked and device.event_id == self.config.event_id

    # --- writer thread

    def _write_loop(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                first = self._queue.get(timeout=POLL_INTERVAL_S)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.config.batch_max:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._metrics.queue_depth.set(self._queue.qsize())
            try:
                self._process(batch)
            except Exception:  # the writer must survive anything; the batch stays unacknowledged
                log.exception("ingest batch failed; its messages will be redelivered")
            finally:
                with self._room:
                    self._queued_bytes -= sum(len(incoming.payload) for incoming in batch)
                    self._room.notify_all()

    def _process(self, batch: list[Incoming]) -> None:
        try:
            self._directory.refresh_if_stale()
        except SQLAlchemyError as exc:
            # The database is away: judge this batch by the directory we have; the commit below waits for the
            # database. Failing the batch here left its messages unacknowledged until the next reconnection
            # (found by tests/security/test_fault_injection.py, PostgreSQL stopped mid-stream).
            log.warning("directory refresh failed (%s); using the cached one", str(exc).splitlines()[0])
        decoded: list[Accepted | Rejected] = []
        for incoming in batch:
            parts = parse_topic(incoming.topic)
            # Label values come from a closed set: a sender must not be able to create time series.
            kind = parts.kind if parts and parts.kind in KNOWN_KINDS else "unknown"
            self._metrics.messages_received.labels(kind).inc()
            item = decode(incoming.topic, incoming.payload, self._rules, self._directory.device)
            if item is None:  # the server's own config, a cleared status: nothing to ingest, nothing to limit
                continue
            if incoming.retained:
                item = replace(item, retained=True)
            elif isinstance(item, Accepted):
                item = self._within_rate(item, incoming)
            if isinstance(item, Rejected):
                kept = self._budget.admit(item, incoming.received_at)
                if kept is None:
                    self._metrics.dead_letters_dropped.labels(item.reason.value).inc()
                    continue
                item = kept
            decoded.append(item)
        result = self._commit_with_retry(decoded)
        if result is not None:
            self._record(result, batch)
            for listener in self.listeners:
                try:
                    listener(result)
                except Exception:  # a listener's bug must not stop ingest; what is stored stays stored
                    log.exception("commit listener failed")
        generation = self._generation
        for incoming in batch:
            if incoming.generation == generation and incoming.qos > 0:
                self._client.ack(incoming.mid, incoming.qos)

    def _within_rate(self, item: Accepted, incoming: Incoming) -> Accepted | Rejected:
        """The device's own rate limit, judged by its capture times as well as our clock (ratelimit.py).

        Only live device messages count: a retained copy replayed on subscribe is old news, and the server's
        own config never reaches here. Over the limit, the message is dead-lettered whole, never dropped.
        """
        if not self._limiter.enabled:
            return item
        device_id = item.device.id
        verdict = self._limiter.check(device_id, incoming.received_at, capture_time(item.message))
        if verdict is Verdict.PASS:
            return item
        self._metrics.rate_limited.labels(verdict.value).inc()
        detail = f"device {device_id!r} over {self._limiter.rate_per_s:g} messages/s (burst {self._limiter.burst})"
        return Rejected(item.topic, DeadLetterReason.RATE_LIMITED, detail, device_id, incoming.payload)

    def _commit_with_retry(self, items: list[Accepted | Rejected]) -> WriteResult | None:
        if not items:
            return None
        pause = RETRY_MIN_S
        while True:
            try:
                result = self._commit(items)
                self._outage.ok()
                return result
            except OperationalError as exc:  # connection-level: the database is away, wait for it
                self._metrics.store_errors.inc()
                self.last_error = str(exc).splitlines()[0]
                self._outage.failed(exc)  # logged once per outage; the retries are in store_errors
            except (DBAPIError, SQLAlchemyError) as exc:  # data-level: find the message the database refuses
                self._metrics.store_errors.inc()
                log.error("database refused a batch of %d (%s); storing one by one", len(items), exc)
                return self._commit_one_by_one(items)
            except Exception:  # a bug of ours that some message triggers: find it, keep it, go on with the rest
                self._metrics.store_errors.inc()
                log.exception("storing a batch of %d failed; storing one by one", len(items))
                return self._commit_one_by_one(items)
            if self._stop.wait(pause):
                raise RuntimeError("stopping with an uncommitted batch; it will be redelivered")
            pause = min(pause * 2, RETRY_MAX_S)

    def _commit(self, items: list[Accepted | Rejected]) -> WriteResult:
        with self._engine.begin() as conn:
            result = write_batch(conn, items, self._directory, time.time(), self.config.event_id)
        self.last_commit_at = time.time()
        if result.unknown_badges:
            self._directory.refresh_badges_if_due()  # a badge registered a moment ago shows up next batch
        return result

    def _commit_one_by_one(self, items: list[Accepted | Rejected]) -> WriteResult:
        total = WriteResult()
        for item in items:
            try:
                result = self._commit([item])
            except OperationalError:
                raise
            except Exception as exc:  # refused by the database, or by a bug of ours: kept as a dead letter
                # Without this the message would stay unacknowledged until the next reconnection, then fail
                # again: a poison message stalling its whole batch forever.
                payload = item.payload if isinstance(item, Rejected) else item.message.to_json()
                device_id = item.device_id if isinstance(item, Rejected) else item.device.id
                detail = f"{type(exc).__name__}: {exc}"[:1000]
                refused = Rejected(item.topic, DeadLetterReason.UNSTORABLE, detail, device_id, payload)
                result = self._commit([refused])
            total.merge(result)
        return total

    def _record(self, result: WriteResult, batch: list[Incoming]) -> None:
        m = self._metrics
        for kind, n in result.stored.items():
            m.messages_stored.labels(kind).inc(n)
        if result.duplicates:
            m.messages_duplicate.inc(result.duplicates)
        if result.seq_gaps:
            m.seq_gaps.inc(result.seq_gaps)
        if result.seq_late:
            m.seq_late.inc(result.seq_late)
        for reason, n in result.dead_letters.items():
            m.dead_letters.labels(reason).inc(n)
        for type_, n in result.touchpoints.items():
            m.touchpoints_stored.labels(type_).inc(n)
        if result.discarded_no_consent:
            m.sightings_discarded.labels("no_consent").inc(result.discarded_no_consent)
        now = time.monotonic()
        for incoming in batch:
            m.ingest_lag.observe(now - incoming.received_mono)
        m.batch_size.observe(len(batch))
