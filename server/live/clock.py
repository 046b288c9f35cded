"""The clock live services run on: the data's own time, carried forward by the wall clock between messages.

Why not plain wall-clock time? Devices stamp what they capture, and that is the time presence and rules
reason in. In production the two agree; but a replayed or simulated stream (the demo runs at 10x) lives
on its own timeline, and timing it out against the wall clock would close every visit at once. So:

    now = newest data time seen + wall time elapsed since it was seen

which equals the wall clock live, follows the data in a replay, and still moves when no message comes
(a visit whose badge went silent must close even when the whole hall is quiet).

    >>> clock = DataClock(wall=lambda: 100.0)
    >>> clock.observe(5_000.0); clock.now()
    5000.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class DataClock:
    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._data_time: float | None = None
        self._seen_at = 0.0

    def observe(self, data_time: float) -> None:
        with self._lock:
            if self._data_time is None or data_time > self._now():
                self._data_time, self._seen_at = data_time, self._wall()

    def _now(self) -> float:
        if self._data_time is None:
            return time.time()
        return self._data_time + (self._wall() - self._seen_at)

    def now(self) -> float:
        with self._lock:
            return self._now()
