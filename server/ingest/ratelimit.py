"""Per-device message rate limit for ingest: a token bucket per device id, time passed in (pure).

A healthy scanner sends about one message every two seconds (a sighting batch per scan window, a heartbeat
every 30 s, taps as badges come). The broker's ACL confines a device to its own topics and the payload limit
bounds each message, but a compromised or broken device could still flood its own topics and take ingest's
CPU and the database from every other device. Each device therefore gets ``rate_per_s`` messages a second
with a ``burst``: generous enough for an edge agent emptying its spool after a long outage (it paces that
replay below the default rate, see edge/publisher.py), tight enough that a flood is cut at once.

Messages over the limit are dead-lettered with reason ``rate_limited`` (kept with their bytes, nothing lost
silently); beyond ``keep_per_min`` of those per device and minute only a counter grows, so that a flood
cannot fill the database through the dead-letter store either.

    >>> limiter = DeviceRateLimiter(rate_per_s=1.0, burst=2, keep_per_min=1)
    >>> [limiter.check("d1", 0.0) for _ in range(4)]
    [<Verdict.PASS: 'pass'>, <Verdict.PASS: 'pass'>, <Verdict.DEAD_LETTER: 'dead_letter'>, <Verdict.DROP: 'drop'>]
    >>> limiter.check("d1", 1.0), limiter.check("d2", 1.0)
    (<Verdict.PASS: 'pass'>, <Verdict.PASS: 'pass'>)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    DEAD_LETTER = "dead_letter"  # over the limit: keep it as a dead letter with the reason
    DROP = "drop"  # over the limit and over the dead-letter allowance: count it only


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    minute: int = -1
    kept: int = 0


class DeviceRateLimiter:
    def __init__(self, rate_per_s: float, burst: int, keep_per_min: int = 600) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.keep_per_min = keep_per_min
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate_per_s > 0

    def check(self, device_id: str, now: float) -> Verdict:
        """One message from ``device_id`` at ``now`` (a monotonic clock, seconds)."""
        if not self.enabled:
            return Verdict.PASS
        bucket = self._buckets.get(device_id)
        if bucket is None:
            bucket = self._buckets[device_id] = _Bucket(float(self.burst), now)
        elif now > bucket.updated:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate_per_s)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.PASS
        minute = int(now // 60)
        if minute != bucket.minute:
            bucket.minute, bucket.kept = minute, 0
        if bucket.kept < self.keep_per_min:
            bucket.kept += 1
            return Verdict.DEAD_LETTER
        return Verdict.DROP
