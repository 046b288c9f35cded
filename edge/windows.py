"""Aggregation of beacon advertisements into scan windows: one window -> one sighting batch -> one message.

Batching is what keeps the MQTT message rate independent of how many beacons are in range: 200 beacons
advertising at 10 Hz are 2,000 adverts/s but one message per window. Windows are aligned to the clock
(``floor(t / window_s) * window_s``) so that every scanner's windows line up, and they are driven by the
advertisements' own timestamps, so a replayed survey yields exactly the windows it yielded live.

Example::

    >>> from edge.beacons import parse_ibeacon
    >>> frame = parse_ibeacon(bytes.fromhex("0215" + "11" * 16 + "00010002c5"))
    >>> windows = WindowAggregator(window_s=2.0)
    >>> windows.observe([frame], -65, "C3:00:00:00:00:01", 1_764_000_000.5)
    []
    >>> [closed] = windows.observe([frame], -70, "C3:00:00:00:00:01", 1_764_000_002.1)
    >>> closed.window_start, closed.window_end, closed.sightings[0].count, closed.sightings[0].rssi
    (1764000000.0, 1764000002.0, 1, -65.0)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from edge.beacons import BeaconFrame, Frame, TelemetryFrame, passes_filter
from edge.protocol import Sighting
from edge.smoothing import RSSI_MAX_AGE_S, RssiSmoother, estimate_distance_m

# Eddystone beacons send a TLM frame every few UID frames; battery drains over months, so a reading stays
# good for a while, but an address unheard for this long may already belong to another (rotating) device.
BATTERY_MAX_AGE_S = 600.0
# Reported precision: the radio measures whole dBm, distance is an estimate good to tens of centimetres.
RSSI_DECIMALS = 1
DISTANCE_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    window_start: float
    window_end: float
    sightings: list[Sighting]


@dataclass(slots=True)
class _Track:
    """One beacon within the open window."""

    frame: BeaconFrame
    address: str
    first_seen: float
    last_seen: float
    rssi: float
    count: int = 1


@dataclass(slots=True)
class _Battery:
    millivolts: int
    seen_at: float


@dataclass
class WindowAggregator:
    """Tracks the open window; ``observe`` and ``tick`` return the windows that closed (usually none)."""

    window_s: float
    allowed: frozenset[str] = frozenset()
    _start: float | None = None
    _end: float = 0.0
    _tracks: dict[str, _Track] = field(default_factory=dict)
    _smoothers: dict[str, tuple[RssiSmoother, float]] = field(default_factory=dict)
    _batteries: dict[str, _Battery] = field(default_factory=dict)
    _pending_window_s: float | None = None
    _last_end: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reconfigure(self, window_s: float, allowed: Iterable[str]) -> None:
        """New allow-list now; new window length from the next window (an open window keeps its end)."""
        with self._lock:
            self.allowed = frozenset(allowed)
            if self._start is None:  # no window open: the new length applies at once
                self.window_s, self._pending_window_s = window_s, None
            elif window_s != self.window_s:
                self._pending_window_s = window_s

    def observe(self, frames: Iterable[Frame], rssi: int, address: str, t: float) -> list[ClosedWindow]:
        with self._lock:
            closed = self._close_until(t)
            if self._start is None:
                self._open(t)
            for frame in frames:
                if isinstance(frame, TelemetryFrame):
                    if frame.battery_mv is not None:
                        self._batteries[address] = _Battery(frame.battery_mv, t)
                elif passes_filter(frame, self.allowed):
                    self._track(frame, rssi, address, t)
            return closed

    def tick(self, now: float) -> list[ClosedWindow]:
        """Close the open window once ``now`` is past its end, even when no advert arrives any more."""
        with self._lock:
            return self._close_until(now)

    def flush(self) -> ClosedWindow | None:
        """Close the open window early (shutdown, end of a replay)."""
        with self._lock:
            if self._start is None:
                return None
            return self._close(self._end)

    def _open(self, t: float) -> None:
        aligned = math.floor(t / self.window_s) * self.window_s
        # After a change of window length, never reopen a stretch of time an earlier window already covered.
        self._start, self._end = max(aligned, self._last_end), aligned + self.window_s

    def _track(self, frame: BeaconFrame, rssi: int, address: str, t: float) -> None:
        smoother, _ = self._smoothers.get(frame.beacon_id) or (RssiSmoother(), t)
        self._smoothers[frame.beacon_id] = (smoother, t)
        smoothed = smoother.add(rssi, t)
        track = self._tracks.get(frame.beacon_id)
        if track is None:
            self._tracks[frame.beacon_id] = _Track(frame, address, t, t, smoothed)
            return
        track.count += 1
        track.frame, track.address, track.rssi = frame, address, smoothed
        track.first_seen = min(track.first_seen, t)
        track.last_seen = max(track.last_seen, t)

    def _close_until(self, t: float) -> list[ClosedWindow]:
        closed: list[ClosedWindow] = []
        while self._start is not None and t >= self._end:
            window = self._close(self._end)
            if window is not None:
                closed.append(window)
        return closed

    def _close(self, end: float) -> ClosedWindow | None:
        start = self._start
        assert start is not None
        sightings = [self._sighting(track) for _, track in sorted(self._tracks.items())]
        self._tracks.clear()
        self._last_end = end
        self._forget_older_than(end)
        if self._pending_window_s is not None:
            self.window_s, self._pending_window_s = self._pending_window_s, None
        # The next window starts where this one ended; when nothing was heard for a while, wait for the next
        # advert to open one rather than walking through empty windows.
        self._start = None
        if sightings:
            return ClosedWindow(start, end, sightings)
        return None

    def _sighting(self, track: _Track) -> Sighting:
        battery = self._batteries.get(track.address)
        return Sighting(
            beacon_id=track.frame.beacon_id,
            format=track.frame.format,
            rssi=round(track.rssi, RSSI_DECIMALS),
            distance_m=round(estimate_distance_m(track.rssi, track.frame.rssi_1m), DISTANCE_DECIMALS),
            count=track.count,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            tx_power=track.frame.rssi_1m,
            battery_mv=battery.millivolts if battery is not None else None,
        )

    def _forget_older_than(self, now: float) -> None:
        # Bounded memory in a hall where thousands of badges pass by over a day.
        stale = [key for key, (_, seen) in self._smoothers.items() if now - seen > RSSI_MAX_AGE_S]
        for key in stale:
            del self._smoothers[key]
        old = [address for address, battery in self._batteries.items() if now - battery.seen_at > BATTERY_MAX_AGE_S]
        for address in old:
            del self._batteries[address]
