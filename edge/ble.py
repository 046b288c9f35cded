"""BLE scanning (bleak), recording and replay, all through one detection callback.

``AdvertisementHandler`` is the callback bleak calls for every advertisement, with bleak's own
``(BLEDevice, AdvertisementData)`` arguments. Replay reads a recorded JSON-lines file, rebuilds those very
objects and calls the very same handler, so a site survey replayed on a laptop, a test and the benchmark all
exercise the code path the radio drives.

Record format, one advertisement per line (company ids as decimal strings, payloads as hex)::

    {"t": 1764000000.25, "address": "C3:00:00:0A:0B:0C", "rssi": -67, "tx_power": null, "local_name": null,
     "manufacturer_data": {"76": "0215..."}, "service_data": {"0000feaa-...": "00..."}, "service_uuids": []}
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from edge.beacons import parse_advertisement
from edge.protocol import ReaderState
from edge.windows import ClosedWindow, WindowAggregator

log = logging.getLogger(__name__)

# How often the scanner loop closes due windows and checks the watchdog.
TICK_S = 0.25
# After the adapter failed (unplugged dongle, bluetoothd restarting) wait this long before trying again.
SCANNER_RESTART_BACKOFF_S = 5.0
# Recording flushes to disk at least this often, so a survey cut short by a power cut loses at most this much.
RECORD_FLUSH_S = 1.0


@dataclass(frozen=True, slots=True)
class AdvertRecord:
    """One raw advertisement as recorded: bleak's AdvertisementData plus time and address."""

    t: float
    address: str
    rssi: int
    tx_power: int | None = None
    local_name: str | None = None
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    service_uuids: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "t": self.t,
                "address": self.address,
                "rssi": self.rssi,
                "tx_power": self.tx_power,
                "local_name": self.local_name,
                "manufacturer_data": {str(k): v.hex() for k, v in self.manufacturer_data.items()},
                "service_data": {k: v.hex() for k, v in self.service_data.items()},
                "service_uuids": self.service_uuids,
            }
        )

    @classmethod
    def from_json(cls, line: str | bytes) -> AdvertRecord:
        data = orjson.loads(line)
        return cls(
            t=float(data["t"]),
            address=str(data["address"]),
            rssi=int(data["rssi"]),
            tx_power=data.get("tx_power"),
            local_name=data.get("local_name"),
            manufacturer_data={int(k): bytes.fromhex(v) for k, v in (data.get("manufacturer_data") or {}).items()},
            service_data={str(k): bytes.fromhex(v) for k, v in (data.get("service_data") or {}).items()},
            service_uuids=list(data.get("service_uuids") or []),
        )

    @classmethod
    def from_bleak(cls, t: float, device: Any, adv: Any) -> AdvertRecord:
        return cls(
            t=t,
            address=device.address,
            rssi=adv.rssi,
            tx_power=adv.tx_power,
            local_name=adv.local_name,
            manufacturer_data={k: bytes(v) for k, v in adv.manufacturer_data.items()},
            service_data={k: bytes(v) for k, v in adv.service_data.items()},
            service_uuids=list(adv.service_uuids),
        )

    def to_bleak(self) -> tuple[Any, Any]:
        """The (BLEDevice, AdvertisementData) pair bleak would have passed to the callback."""
        from bleak.backends.device import BLEDevice
        from bleak.backends.scanner import AdvertisementData

        device = BLEDevice(self.address, self.local_name, details=None)
        adv = AdvertisementData(
            local_name=self.local_name,
            manufacturer_data=self.manufacturer_data,
            service_data=self.service_data,
            service_uuids=self.service_uuids,
            tx_power=self.tx_power,
            rssi=self.rssi,
            platform_data=(),
        )
        return device, adv


class AdvertRecorder:
    """Appends raw advertisements to a JSON-lines file (a site survey)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = open(self.path, "ab")  # noqa: SIM115  # closed by close()
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()

    def write(self, record: AdvertRecord) -> None:
        with self._lock:
            self._file.write(record.to_json() + b"\n")
            if time.monotonic() - self._flushed_at > RECORD_FLUSH_S:
                self._file.flush()
                self._flushed_at = time.monotonic()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class ReplayClock:
    """The time the handler sees during a replay: the recorded time of the advertisement being replayed."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class AdvertisementHandler:
    """bleak's detection callback: parse, filter, smooth and window; closed windows go to ``on_window``."""

    def __init__(
        self,
        windows: WindowAggregator,
        on_window: Callable[[ClosedWindow], None],
        clock: Callable[[], float] = time.time,
        recorder: AdvertRecorder | None = None,
    ) -> None:
        self.windows = windows
        self.on_window = on_window
        self.clock = clock
        self.recorder = recorder
        self.adverts = 0
        self.last_advert_monotonic = time.monotonic()

    def __call__(self, device: Any, adv: Any) -> None:
        t = self.clock()
        self.adverts += 1
        self.last_advert_monotonic = time.monotonic()
        if self.recorder is not None:
            self.recorder.write(AdvertRecord.from_bleak(t, device, adv))
        frames = parse_advertisement(adv.manufacturer_data, adv.service_data)
        if frames:  # most of a hall's adverts are phones, headphones, TVs: nothing to window
            for window in self.windows.observe(frames, adv.rssi, device.address, t):
                self.on_window(window)

    def tick(self, now: float) -> None:
        for window in self.windows.tick(now):
            self.on_window(window)

    def flush(self) -> None:
        window = self.windows.flush()
        if window is not None:
            self.on_window(window)


def read_records(path: str | Path) -> Iterator[AdvertRecord]:
    """Records of a file; unreadable lines are logged and skipped (a power cut can end a survey mid-line)."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield AdvertRecord.from_json(line)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("%s:%d: skipping unreadable advertisement: %s", path, number, exc)


def looped(records: list[AdvertRecord]) -> Iterator[AdvertRecord]:
    """The records over and over, each pass shifted in time to follow the last, so windows keep moving on.

    The gap between passes is the recording's mean gap between adverts; a recording of ``t`` 0.0, 0.5, 1.0
    plays as 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, ...
    """
    if not records:
        return
    first, last = records[0].t, records[-1].t
    span = last - first
    period = span + (span / (len(records) - 1) if len(records) > 1 and span > 0 else 1.0)
    shift = 0.0
    while True:
        for record in records:
            yield dataclasses.replace(record, t=record.t + shift)
        shift += period


def replay(
    records: Iterator[AdvertRecord] | list[AdvertRecord],
    handler: AdvertisementHandler,
    clock: ReplayClock,
    speed: float = 1.0,
    stop: threading.Event | None = None,
) -> int:
    """Feed records through ``handler`` at recorded pace times ``speed`` (0 = as fast as possible)."""
    started = time.monotonic()
    first_t: float | None = None
    count = 0
    for record in records:
        if stop is not None and stop.is_set():
            break
        if first_t is None:
            first_t = record.t
        if speed > 0:
            delay = (record.t - first_t) / speed - (time.monotonic() - started)
            if delay > 0 and stop is not None and stop.wait(delay):
                break
            if delay > 0 and stop is None:
                time.sleep(delay)
        clock.now = record.t
        device, adv = record.to_bleak()
        handler(device, adv)
        count += 1
    handler.flush()
    return count


class BleScanner:
    """Live scanning with a watchdog: BlueZ on a Pi can stop reporting adverts without any error."""

    def __init__(self, handler: AdvertisementHandler, watchdog_s: Callable[[], float], adapter: str | None) -> None:
        self.handler = handler
        self.watchdog_s = watchdog_s
        self.adapter = adapter
        self.state = ReaderState.ABSENT
        self.restarts = 0

    async def run(self, stop: asyncio.Event) -> None:
        from bleak import BleakScanner

        # DuplicateData: without it BlueZ reports a beacon once and then only when its payload changes, which
        # would starve RSSI smoothing and the counts of every window.
        bluez: dict[str, Any] = {"filters": {"DuplicateData": True}}
        if self.adapter:
            bluez["adapter"] = self.adapter
        while not stop.is_set():
            try:
                scanner = BleakScanner(detection_callback=self.handler, bluez=bluez)  # type: ignore[arg-type]
                await scanner.start()
            except Exception as exc:  # no adapter, bluetoothd down, rfkill: keep retrying, say why
                self.state = ReaderState.ABSENT if "not found" in str(exc).lower() else ReaderState.ERROR
                log.error("BLE scanner could not start (%s); retrying in %.0f s", exc, SCANNER_RESTART_BACKOFF_S)
                await _sleep_unless(stop, SCANNER_RESTART_BACKOFF_S)
                continue
            self.state = ReaderState.OK
            self.handler.last_advert_monotonic = time.monotonic()
            log.info("BLE scanning on %s", self.adapter or "the default adapter")
            try:
                while not stop.is_set():
                    await _sleep_unless(stop, TICK_S)
                    self.handler.tick(time.time())
                    silent_s = time.monotonic() - self.handler.last_advert_monotonic
                    if silent_s > self.watchdog_s():
                        self.restarts += 1
                        log.warning("BLE watchdog: no advertisement for %.0f s; restarting the scanner", silent_s)
                        break
            finally:
                try:
                    await scanner.stop()
                except Exception as exc:  # the adapter may already be gone
                    log.debug("BLE scanner stop: %s", exc)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
