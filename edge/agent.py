"""The edge agent: wires the NFC reader, the BLE scanner (or a replay), the spool and the publisher.

Threads: nfcpy's blocking reader loop, the BLE scanner's asyncio loop (or the replay), paho's network loop,
the publisher's pump, and housekeeping (heartbeats, systemd watchdog). Capture threads only ever write to the
spool; only the pump reads from it. The server's retained config is applied live by ``apply_config``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from edge import health
from edge.beacons import normalise_filter
from edge.ble import (
    AdvertisementHandler,
    AdvertRecorder,
    BleScanner,
    ReplayClock,
    looped,
    read_records,
    replay,
)
from edge.config import EdgeSettings
from edge.nfc import NfcReader, TapRead
from edge.protocol import (
    MAX_SIGHTINGS_PER_BATCH,
    DeviceConfig,
    Heartbeat,
    MessageKind,
    ReaderState,
    Sighting,
    SightingBatch,
    Tap,
    topic_for,
)
from edge.publisher import Publisher
from edge.sdnotify import sd_notify, watchdog_ping_interval_s
from edge.spool import Spool
from edge.windows import ClosedWindow, WindowAggregator

log = logging.getLogger(__name__)

HOUSEKEEPING_TICK_S = 0.5
RUN_POLL_S = 0.2  # how quickly run_forever notices that a replay has ended
# After a replay, wait this long for the broker to acknowledge what is spooled: enough for a few thousand
# windows on a LAN; with no broker at all the command still ends, and the spool keeps the rest.
REPLAY_DRAIN_TIMEOUT_S = 5.0
THREAD_JOIN_TIMEOUT_S = 10.0  # nfcpy and bleak return within a tick or two; longer means stuck
MB = 1024 * 1024


def allow_list(config: DeviceConfig) -> frozenset[str]:
    return frozenset(normalise_filter(value) for value in [*config.ble.uuids, *config.ble.namespaces])


class Agent:
    def __init__(self, settings: EdgeSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.config = settings.device_config()
        self.clock = clock
        self.version = health.agent_version()
        self.spool = Spool.in_directory(settings.spool.dir, settings.device_id, int(settings.spool.max_mb * MB))
        self.publisher = Publisher(
            self.spool,
            mqtt_url=settings.mqtt.url,
            username=settings.mqtt.username,
            password=settings.mqtt.password,
            device_id=settings.device_id,
            event_id=settings.event_id,
            prefix=settings.mqtt.topic_prefix,
            agent_version=self.version,
            on_config=self.apply_config,
            reconnect_min_s=settings.mqtt.reconnect_min_s,
            reconnect_max_s=settings.mqtt.reconnect_max_s,
            clock=clock,
        )
        self.windows = WindowAggregator(self.config.ble.window_s, allow_list(self.config))
        self.replay_clock = ReplayClock() if settings.ble.replay else None
        self.recorder = AdvertRecorder(settings.ble.record) if settings.ble.record else None
        self.handler = AdvertisementHandler(
            self.windows, self.publish_window, self.replay_clock or clock, self.recorder
        )
        self.scanner: BleScanner | None = None
        self.nfc = (
            NfcReader(settings.nfc.device, self.record_tap, self.config.retap_gap_s, clock)
            if (settings.nfc.device)
            else None
        )
        self.replay_done = threading.Event()
        self._stopping = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self._ble_loop: asyncio.AbstractEventLoop | None = None
        self._ble_stop: asyncio.Event | None = None
        self._started_monotonic = time.monotonic()

    # Capture -> spool ---------------------------------------------------------------------------------
    def _topic(self, kind: MessageKind) -> str:
        return topic_for(kind, self.settings.event_id, self.settings.device_id, self.settings.mqtt.topic_prefix)

    def record_tap(self, read: TapRead) -> int:
        """Spool one tap and return its seq (the NFC reader calls this; so may tests)."""

        def build(seq: int) -> bytes:
            tap = Tap(
                device_id=self.settings.device_id,
                event_id=self.settings.event_id,
                seq=seq,
                captured_at=read.captured_at,
                uid=read.uid,
                badge_id=read.badge_id,
                ndef=read.ndef,
            )
            return tap.to_json()

        entry = self.spool.enqueue(self._topic(MessageKind.TAP), MessageKind.TAP, build)
        log.info("tap uid=%s badge=%s seq=%d", read.uid, read.badge_id, entry.seq)
        self.publisher.wake()
        return entry.seq

    def publish_window(self, window: ClosedWindow) -> None:
        for offset in range(0, len(window.sightings), MAX_SIGHTINGS_PER_BATCH):
            chunk = window.sightings[offset : offset + MAX_SIGHTINGS_PER_BATCH]

            def build(seq: int, chunk: list[Sighting] = chunk) -> bytes:
                return SightingBatch(device_id=self.settings.device_id,
                event_id=self.settings.event_id, seq=seq, window_start=window.window_start,
                                     window_end=window.window_end, sightings=chunk).to_json()  # fmt: skip

            self.spool.enqueue(self._topic(MessageKind.SIGHTINGS), MessageKind.SIGHTINGS, build)
        self.publisher.wake()

    def heartbeat(self) -> Heartbeat:
        """Spool a heartbeat with the device's current health and return it."""
        # Every reading is taken here, before enqueue(): build() runs under the spool's lock and must only
        # format (reading the spool from inside it was a deadlock; /proc, /sys and the SD card can be slow).
        readings = Heartbeat(
            device_id=self.settings.device_id,
            event_id=self.settings.event_id,
            seq=0,  # replaced by the spool's seq in build()
            captured_at=self.clock(),
            uptime_s=round(time.monotonic() - self._started_monotonic, 1),
            agent_version=self.version,
            cpu_temp_c=health.cpu_temp_c(),
            load1=health.load1(),
            mem_used_pct=health.mem_used_pct(),
            disk_free_mb=health.disk_free_mb(self.settings.spool.dir),
            spool_depth=self.spool.depth,
            spool_dropped=self.spool.dropped,
            nfc_state=self.nfc.state if self.nfc else ReaderState.DISABLED,
            ble_state=self.ble_state,
            config_version=self.config.config_version,
            versions=health.versions(),
        )
        captured: list[Heartbeat] = []

        def build(seq: int) -> bytes:
            beat = readings.model_copy(update={"seq": seq})
            captured.append(beat)
            return beat.to_json()

        self.spool.enqueue(self._topic(MessageKind.HEARTBEAT), MessageKind.HEARTBEAT, build)
        self.publisher.wake()
        return captured[0]

    @property
    def ble_state(self) -> ReaderState:
        if self.replay_clock is not None:
            return ReaderState.OK
        if self.scanner is not None:
            return self.scanner.state
        return ReaderState.DISABLED

    # Server -> device ---------------------------------------------------------------------------------
    def apply_config(self, config: DeviceConfig) -> None:
        """Apply the server's config live: zone, allow-list, window, watchdog, re-tap gap, heartbeat."""
        if config == self.config:
            return  # the retained message again after a reconnect
        self.windows.reconfigure(config.ble.window_s, allow_list(config))
        if self.nfc is not None:
            self.nfc.debouncer.retap_gap_s = config.retap_gap_s
        self.config = config
        log.info(
            "applied config version %d: zone=%s window=%.1fs filters=%d",
            config.config_version, config.zone_id, config.ble.window_s, len(allow_list(config)),
        )  # fmt: skip

    # Lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self.publisher.start()
        if self.nfc is not None:
            self.nfc.start()
        if self.settings.ble.replay:
            self._spawn(self._run_replay, "edge-ble-replay")
        elif self.settings.ble.enabled:
            self.scanner = BleScanner(self.handler, lambda: self.config.ble.watchdog_s, self.settings.ble.adapter)
            self._spawn(self._run_scanner, "edge-ble")
        self._spawn(self._run_housekeeping, "edge-housekeeping")

    def stop(self) -> None:
        """Stop in dependency order; a second call (say SIGTERM during the replay's drain) is a no-op.

        Producers first (BLE, NFC, housekeeping), then the open window goes to the spool, then the publisher
        (pump, ``offline``, disconnect, paho's thread), and the spool last, when nobody else uses it. A thread
        that failed to stop in time gets ``SpoolClosed`` from then on instead of blocking this.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        sd_notify("STOPPING=1")
        if self._ble_loop is not None and self._ble_stop is not None:
            self._ble_loop.call_soon_threadsafe(self._ble_stop.set)
        if self.nfc is not None:
            self.nfc.stop()
        for thread in self._threads:
            thread.join(timeout=THREAD_JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.error("thread %s did not stop within %.0f s", thread.name, THREAD_JOIN_TIMEOUT_S)
        self.handler.flush()  # the open window is data too: it goes to the spool, not away
        self.publisher.stop()
        if self.recorder is not None:
            self.recorder.close()
        self.spool.close()

    def run_forever(self) -> None:
        """Run until SIGTERM / Ctrl-C (the CLI and systemd entry point), or until a replay has ended.

        A replay (``--ble-replay``) ends the run by itself once the file is done and the spool has drained
        (waiting at most ``REPLAY_DRAIN_TIMEOUT_S``; what is left stays spooled for the next run), unless
        ``replay_loop`` is set: site surveys are replayed by people who should not need Ctrl-C.
        """
        import signal

        previous = signal.signal(signal.SIGTERM, lambda *_: self._stopping.set())
        self.start()
        sd_notify("READY=1")
        try:
            while not self._stopping.wait(RUN_POLL_S):
                if self.replay_done.is_set():
                    self._drain_after_replay()
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def _drain_after_replay(self) -> None:
        if self.publisher.wait_until_drained(REPLAY_DRAIN_TIMEOUT_S, stop=self._stopping):
            log.info("replay finished and every message was delivered; exiting")
        else:
            log.warning(
                "replay finished; %d messages not yet delivered stay in the spool for the next run",
                self.spool.depth,
            )

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run_replay(self) -> None:
        assert self.settings.ble.replay is not None and self.replay_clock is not None
        path = self.settings.ble.replay
        records = looped(list(read_records(path))) if self.settings.ble.replay_loop else read_records(path)
        count = replay(records, self.handler, self.replay_clock, self.settings.ble.replay_speed, self._stopping)
        log.info("BLE replay of %s finished: %d advertisements", path, count)
        self.replay_done.set()

    def _run_scanner(self) -> None:
        assert self.scanner is not None
        loop = asyncio.new_event_loop()
        self._ble_loop, self._ble_stop = loop, asyncio.Event()
        try:
            loop.run_until_complete(self.scanner.run(self._ble_stop))
        finally:
            loop.close()

    def _run_housekeeping(self) -> None:
        ping_every = watchdog_ping_interval_s()
        next_beat = time.monotonic() + min(5.0, self.config.heartbeat_s)  # an early first sign of life
        next_ping = time.monotonic()
        while not self._stopping.wait(HOUSEKEEPING_TICK_S):
            now = time.monotonic()
            if now >= next_beat:
                try:
                    self.heartbeat()
                except Exception:
                    log.exception("heartbeat failed")
                next_beat = now + self.config.heartbeat_s
            if ping_every is not None and now >= next_ping and self._healthy():
                sd_notify("WATCHDOG=1")
                next_ping = now + ping_every

    def _healthy(self) -> bool:
        # Stop feeding systemd's watchdog when a worker thread died: a restart is the cure.
        return all(thread.is_alive() for thread in self._threads if thread.name != "edge-ble-replay")
