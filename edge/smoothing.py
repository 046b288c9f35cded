"""RSSI smoothing per beacon and the log-distance path-loss model.

Raw RSSI of a beacon standing still jumps by 5-10 dB from one advertisement to the next (multipath, bodies
walking through the line of sight, antenna orientation). We smooth with a running median over the last few
advertisements: a median ignores the single deep fades and spikes that an average would smear into the
estimate, it has no tuning beyond its length, and its output is an RSSI that was actually measured, which
keeps tests and calibration surveys exact.

Example::

    >>> smoother = RssiSmoother()
    >>> [smoother.add(rssi, t) for t, rssi in enumerate([-60, -90, -62, -61])]
    [-60.0, -75.0, -62.0, -61.5]
"""

from __future__ import annotations

from collections import deque
from statistics import median

# Five adverts is 0.5 s at the 10 Hz of a booth beacon and 5 s at the 1 Hz of a badge: long enough that
# one or two fades in a row do not move the median, short enough to follow a person walking past.
RSSI_MEDIAN_SAMPLES = 5
# Samples older than this describe where the badge was, not where it is: a walking person covers ~10 m.
RSSI_MAX_AGE_S = 10.0
# Calibrated RSSI at 1 m when a beacon does not advertise one (-59 dBm is Apple's iBeacon reference value).
DEFAULT_RSSI_1M = -59
# Path-loss exponent n: 2 in free space, 2-3.5 indoors; 2.5 suits an exhibition hall full of people.
PATH_LOSS_EXPONENT = 2.5
# The contract caps distance at 1 km; beyond ~50 m indoors the model says nothing useful anyway.
MAX_DISTANCE_M = 1000.0


class RssiSmoother:
    """Running median of one beacon's recent RSSI samples; time is passed in, never read."""

    __slots__ = ("_samples", "max_age_s")

    def __init__(self, samples: int = RSSI_MEDIAN_SAMPLES, max_age_s: float = RSSI_MAX_AGE_S) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=samples)
        self.max_age_s = max_age_s

    def add(self, rssi: int, t: float) -> float:
        """Add a sample taken at ``t`` and return the smoothed RSSI at ``t``."""
        samples = self._samples
        samples.append((t, rssi))
        oldest_kept = t - self.max_age_s
        while samples[0][0] < oldest_kept:
            samples.popleft()
        return float(median(sample for _, sample in samples))


def estimate_distance_m(rssi: float, rssi_1m: int | None, n: float = PATH_LOSS_EXPONENT) -> float:
    """``d = 10 ** ((rssi_1m - rssi) / (10 * n))``: metres from the beacon, from its calibrated 1 m RSSI."""
    reference = DEFAULT_RSSI_1M if rssi_1m is None else rssi_1m
    return min(10 ** ((reference - rssi) / (10 * n)), MAX_DISTANCE_M)
