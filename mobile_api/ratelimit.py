"""In-memory token buckets, one per key (an email, an attendee, a client address).

A bucket holds up to ``capacity`` tokens and gains ``rate`` tokens a second; each request takes one. So a
client may burst ``capacity`` requests, then continue at ``rate`` a second. The buckets live in this
process: with several API workers each allows its own share, which is fine for abuse protection (they are
not quotas). Idle buckets are forgotten, so memory follows the number of active keys.

    >>> limiter = RateLimiter(capacity=2, rate=1.0)
    >>> [limiter.allow("k", now=0.0) for _ in range(3)]
    [True, True, False]
    >>> limiter.allow("k", now=1.0)
    True
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

# Buckets untouched this long are full again anyway and are dropped when the table is swept.
SWEEP_EVERY = 1000  # calls between sweeps


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, capacity: int, rate: float) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError("capacity must be >= 1 and rate > 0")
        self.capacity = capacity
        self.rate = rate
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for ``key``; False when its bucket is empty (the caller answers 429)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            self._calls += 1
            if self._calls % SWEEP_EVERY == 0:
                self._sweep(at)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.capacity), at)
            bucket.tokens = min(self.capacity, bucket.tokens + (at - bucket.at) * self.rate)
            bucket.at = at
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` has a token again (for the Retry-After header)."""
        with self._lock:
            bucket = self._buckets.get(key)
            missing = 1 - bucket.tokens if bucket else 0
        return max(1, int(missing / self.rate + 0.999))

    def _sweep(self, now: float) -> None:
        full_after = self.capacity / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.at > full_after]:
            del self._buckets[key]
