"""The MQTT side of the agent (paho-mqtt 2): drains the spool with QoS1 and applies the server's config.

- Every message comes from the spool and is deleted from it only in ``on_publish`` (the broker's PUBACK).
  paho keeps in-flight messages in memory and resends them itself after a reconnect; after a restart the
  spool resends whatever was never acknowledged. The receiver deduplicates on ``(device_id, seq)``.
- In-flight messages are bounded: an unbounded QoS1 backlog collapses throughput to a few hundred msg/s.
- ``status`` is retained: ``online`` on every (re)connect, ``offline`` as the last will and on a clean stop.
  The server applies status in arrival order (a will's payload is fixed at connect time), so the ``online``
  published after each connect is what overrides the will the broker published for the previous connection.
- The retained ``config`` topic is subscribed on every connect and handed to ``on_config``.
- Locks: paho calls our callbacks while holding its own lock, so they never touch the spool (PUBACKs go to
  the pump through a queue); the pump never holds the spool's lock while it calls paho.
- ``stop()`` order: pump first (nothing new goes out), then ``offline``, disconnect, paho's thread, and only
  then the PUBACKs that arrived meanwhile are applied to the spool. The owner closes the spool after that.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from edge.mqtt_url import parse_mqtt_url
from edge.protocol import QOS, DeviceConfig, MessageKind, Status, topic_for
from edge.spool import Spool, SpoolClosed

log = logging.getLogger(__name__)

# Enough in flight to keep a WAN link busy, few enough that a reconnect resends little (see module doc).
MAX_INFLIGHT = 64
# How often the pump looks at the spool when nobody woke it: new messages wake it at once.
PUMP_IDLE_S = 0.5
KEEPALIVE_S = 30  # the broker publishes our last will ~1.5x this after the device vanishes
OFFLINE_PUBLISH_TIMEOUT_S = 2.0
PUMP_JOIN_TIMEOUT_S = 5.0  # one spool read plus at most MAX_INFLIGHT non-blocking paho publishes
PUMP_ERROR_BACKOFF_S = 1.0  # after an unexpected error (a full disk, say): log it, breathe, try again
# The server limits each device to 50 messages/s beyond a burst of 3,000 (TOUCHPOINTS_INGEST_DEVICE_RATE_PER_S,
# _BURST) and dead-letters the excess. Live traffic is ~0.5 messages/s; emptying the spool after an outage is
# paced below that limit, as docs/mqtt.md promises: 40 a second, one every 25 ms, with a burst of 4 so that a
# tap and a window closing together need not wait. At most 4 + 40 t messages leave in any t seconds. (A burst
# of 400 let the whole in-flight window of 64 go out within 0.1 s of a reconnect.)
PUBLISH_RATE_PER_S = 40.0
PUBLISH_BURST = 4


class Publisher:
    def __init__(
        self,
        spool: Spool,
        *,
        mqtt_url: str,
        device_id: str,
        event_id: str,
        prefix: str,
        agent_version: str,
        on_config: Callable[[DeviceConfig], None],
        username: str | None = None,
        password: str | None = None,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spool = spool
        self.device_id, self.event_id, self.prefix = device_id, event_id, prefix
        self.agent_version = agent_version
        self._on_config = on_config
        self._clock = clock
        self._monotonic = monotonic  # paces sending (tests drive it)
        self._endpoint = parse_mqtt_url(mqtt_url)
        self._inflight: dict[int, int] = {}  # paho mid -> spool entry id
        self._early_acks: set[int] = set()  # PUBACKs that raced ahead of publish() returning its mid
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cursor = 0  # highest spool id handed to paho in this process
        self._send_tokens, self._send_refilled = float(PUBLISH_BURST), monotonic()
        self._pump: threading.Thread | None = None
        self.connected = threading.Event()

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"touchpoints-edge-{event_id}-{device_id}",
            clean_session=True,
        )
        user = username or self._endpoint.username
        if user:
            client.username_pw_set(user, password or self._endpoint.password)
        if self._endpoint.tls:
            client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.reconnect_delay_set(min_delay=max(1, round(reconnect_min_s)), max_delay=round(reconnect_max_s))
        will = self._status("offline", "connection lost")
        client.will_set(self.topic(MessageKind.STATUS), will, qos=QOS, retain=True)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_publish = self._handle_publish
        client.on_message = self._handle_message
        self._client = client

    def topic(self, kind: MessageKind) -> str:
        return topic_for(kind, self.event_id, self.device_id, self.prefix)

    def start(self) -> None:
        self._client.connect_async(self._endpoint.host, self._endpoint.port, keepalive=KEEPALIVE_S)
        self._client.loop_start()
        self._pump = threading.Thread(target=self._run_pump, name="edge-publisher", daemon=True)
        self._pump.start()

    def wake(self) -> None:
        """A message was spooled: send it now rather than at the next idle poll."""
        self._wake.set()

    def stop(self, reason: str = "agent stopped") -> None:
        """Stop publishing and say ``offline``; the spool stays open (its owner closes it afterwards)."""
        self._stopping.set()
        self._wake.set()
        if self._pump is not None and self._pump is not threading.current_thread():
            self._pump.join(timeout=PUMP_JOIN_TIMEOUT_S)
            if self._pump.is_alive():
                log.error("publisher pump did not stop within %.0f s", PUMP_JOIN_TIMEOUT_S)
        if self.connected.is_set():
            info = self._client.publish(
                self.topic(MessageKind.STATUS), self._status("offline", reason), qos=QOS, retain=True
            )
            try:
                info.wait_for_publish(timeout=OFFLINE_PUBLISH_TIMEOUT_S)
            except (RuntimeError, ValueError) as exc:
                log.debug("offline status not confirmed: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()
        # paho's thread is gone: no PUBACK can arrive any more. Whatever did arrive leaves the spool now
        # rather than being sent again after the next start.
        self._drain_acks()

    def wait_until_drained(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """True once every spooled message was acknowledged (used by tests and `edge run --ble-replay`).

        Gives up early (returning False) when ``stop`` is set, so a SIGTERM is never kept waiting.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._wake.set()
            if self.spool.depth == 0:
                return True
            if stop is not None and stop.wait(0.05):
                break
            if stop is None:
                time.sleep(0.05)
        return self.spool.depth == 0

    def _status(self, state: str, reason: str | None) -> bytes:
        return Status(
            device_id=self.device_id,
            event_id=self.event_id,
            state=state,  # type: ignore[arg-type]  # "online" | "offline"
            at=self._clock(),
            reason=reason,
            agent_version=self.agent_version,
        ).to_json()

    def _handle_connect(
        self, client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT broker refused the connection: %s (check the device's username/password)", reason)
            return
        log.info("connected to MQTT broker %s:%d", self._endpoint.host, self._endpoint.port)
        client.publish(self.topic(MessageKind.STATUS), self._status("online", None), qos=QOS, retain=True)
        client.subscribe(self.topic(MessageKind.CONFIG), qos=QOS)
        self.connected.set()
        self._wake.set()

    def _handle_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if self.connected.is_set() and not self._stopping.is_set():
            log.warning("disconnected from MQTT broker (%s); spooling until it is back", reason)
        self.connected.clear()

    def _handle_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, _reason: object, _props: object
    ) -> None:
        # Runs in paho's network thread while paho holds its own lock: hand over, never block here.
        self._acks.put(mid)
        self._wake.set()

    def _handle_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if not message.payload:
            return  # a cleared retained config: keep what we have
        try:
            config = DeviceConfig.model_validate_json(message.payload)
        except ValidationError as exc:
            log.error("ignoring invalid config message on %s: %s", message.topic, exc)
            return
        if config.device_id != self.device_id or config.event_id != self.event_id:
            log.error("ignoring config addressed to %s/%s", config.event_id, config.device_id)
            return
        try:
            self._on_config(config)
        except Exception:
            log.exception("applying config version %d failed", config.config_version)

    def _drain_acks(self) -> None:
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                entry_id = self._inflight.pop(mid, None)
                if entry_id is None:
                    self._early_acks.add(mid)
            if entry_id is not None:
                self.spool.acknowledge(entry_id)

    def _run_pump(self) -> None:
        wait = PUMP_IDLE_S
        while not self._stopping.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            wait = PUMP_IDLE_S
            try:
                wait = self._pump_once() or PUMP_IDLE_S
            except SpoolClosed:
                return  # the agent is shutting down around us
            except Exception:
                log.exception("publisher pump failed; retrying in %.0f s", PUMP_ERROR_BACKOFF_S)
                self._stopping.wait(PUMP_ERROR_BACKOFF_S)

    def _pump_once(self) -> float | None:
        """Apply the PUBACKs received, then hand paho as many spooled messages as the in-flight bound and the
        send rate allow. Returns how long to wait before the rate allows the next one, when it held any back.
        """
        self._drain_acks()
        if not self.connected.is_set():
            return None
        with self._lock:
            room = MAX_INFLIGHT - len(self._inflight)
        now = self._monotonic()
        refill = max(0.0, now - self._send_refilled) * PUBLISH_RATE_PER_S
        self._send_tokens = min(float(PUBLISH_BURST), self._send_tokens + refill)
        self._send_refilled = now
        allowed = int(self._send_tokens)
        if room <= 0:
            return None  # PUBACKs wake the pump
        if allowed <= 0:
            return (1.0 - self._send_tokens) / PUBLISH_RATE_PER_S
        entries = self.spool.pending(after_id=self._cursor, limit=min(room, allowed))
        for entry in entries:
            self._send_tokens -= 1
            if self._stopping.is_set():
                return None
            info = self._client.publish(entry.topic, entry.payload, qos=QOS)
            self._cursor = entry.id
            with self._lock:
                if info.mid in self._early_acks:
                    self._early_acks.discard(info.mid)
                    early = True
                else:
                    self._inflight[info.mid] = entry.id
                    early = False
            if early:
                self.spool.acknowledge(entry.id)
        if len(entries) == allowed < room:  # the rate, not the spool, stopped us: come back for the next token
            return max(0.0, 1.0 - self._send_tokens) / PUBLISH_RATE_PER_S
        return None
