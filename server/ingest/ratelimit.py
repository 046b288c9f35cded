"""Per-device message rate limit for ingest: a token bucket per device id, time passed in (pure).

A healthy scanner sends about one message every two seconds (a sighting batch per scan window, a heartbeat
every 30 s, taps as badges come). The broker's ACL confines a device to its own topics and the payload limit
bounds each message, but a compromised or broken device could still flood its own topics and take ingest's
CPU and the database from every other device. Each device therefore gets ``rate_per_s`` messages a second
with a ``burst``.

A device's rate is judged by **its own clock** as well as ours: the bucket refills by whichever advanced more
since the device's previous message, the server's receive time or the device's capture time. A backlog the
broker kept while ingest was down arrives all at once, but its capture times are spread over the outage, so
it is no flood: it passes. A broken device repeating itself (capture times that do not advance) is cut at
the rate, as before. So that a device cannot buy credit with invented times, its clock counts at most
``DEVICE_CLOCK_AHEAD_S`` ahead of ours and at most ``MAX_BACKLOG_S`` behind.

Over the limit, the verdict is ``DEAD_LETTER``: the consumer keeps the message with its bytes (reason
``rate_limited``). Nothing the broker accepted from a registered device is dropped; ``keep_per_min`` (off
by default) is only for callers that want the old count-only cut-off.

    >>> limiter = DeviceRateLimiter(rate_per_s=1.0, burst=2)
    >>> [limiter.check("d1", 0.0) for _ in range(3)]
    [<Verdict.PASS: 'pass'>, <Verdict.PASS: 'pass'>, <Verdict.DEAD_LETTER: 'dead_letter'>]
    >>> # a backlog: ten messages received at once, captured one a second apart on the device
    >>> {limiter.check("d2", 100.0, device_time=90.0 + i) for i in range(10)}
    {<Verdict.PASS: 'pass'>}
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# A device clock may run this far ahead of ours (NTP on both ends keeps them within milliseconds; a few
# seconds covers a device that has not synced yet). Capture times further ahead buy no credit.
DEVICE_CLOCK_AHEAD_S = 5.0
# How far back a device's capture times buy credit: a backlog from an ingest outage up to an hour long is
# judged by the device's clock. Older capture times count as this old, so an invented 2020 timestamp earns
# a device at most an hour's worth of messages once (rate x 3,600), never years of them.
MAX_BACKLOG_S = 3600.0


class Verdict(StrEnum):
    PASS = "pass"
    DEAD_LETTER = "dead_letter"  # over the limit: keep it as a dead letter with the reason
    DROP = "drop"  # over the limit and over ``keep_per_min``: count it only (only when a caller sets it)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float  # server time of the last refill
    device_clock: float | None  # the furthest device time seen (clamped), None until one was given
    minute: int = -1
    kept: int = 0


class DeviceRateLimiter:
    def __init__(self, rate_per_s: float, burst: int, keep_per_min: int | None = None) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.keep_per_min = keep_per_min
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def check(self, device_id: str, now: float, device_time: float | None = None) -> Verdict:
        """One message from ``device_id`` received at ``now`` (server clock, s), captured at ``device_time``.

        ``now`` and ``device_time`` are on the same scale (Unix seconds) when both are given.
        """
        if not self.enabled:
            return Verdict.PASS
        # Plain comparisons rather than min()/max(): this runs for every message a device sends.
        clock = device_time
        if clock is not None:
            if clock < now - MAX_BACKLOG_S:
                clock = now - MAX_BACKLOG_S
            elif clock > now + DEVICE_CLOCK_AHEAD_S:
                clock = now + DEVICE_CLOCK_AHEAD_S
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(float(self.burst), now, clock)
        else:
            advanced = now - bucket.updated if now > bucket.updated else 0.0
            if clock is not None:
                seen = bucket.device_clock
                if seen is None or clock > seen:
                    if seen is not None and clock - seen > advanced:
                        advanced = clock - seen
                    bucket.device_clock = clock
            if advanced > 0.0:
                bucket.tokens = min(float(self.burst), bucket.tokens + advanced * self.rate_per_s)
            if now > bucket.updated:
                bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.PASS
        if self.keep_per_min is None:
            return Verdict.DEAD_LETTER
        minute = int(now // 60)
        if minute != bucket.minute:
            bucket.minute, bucket.kept = minute, 0
        if bucket.kept < self.keep_per_min:
            bucket.kept += 1
            return Verdict.DEAD_LETTER
        return Verdict.DROP
